// The public header compiles as C++ (extern "C", no C-only constructs).
#include <seattn/seattn.h>

int main() {
    seattn_attention_desc d = {};
    d.n_heads = 1;
    return seattn_attention_desc_check(nullptr, &d, nullptr) == SEATTN_SUCCESS ? 1 : 0;
}

// The public headers compile as C++ (extern "C", no C-only constructs).
#include <seattn/seattn.h>
#include <seattn/seattn_vulkan.h>

int main() {
    seattn_attention_desc d = {};
    d.n_heads = 1;
    seattn_vulkan_device v = {};
    (void)v;
    return seattn_attention_desc_check(nullptr, &d, nullptr) == SEATTN_SUCCESS ? 1 : 0;
}

# Compiles each GLSL compute shader with glslangValidator into a header holding
# `const uint32_t seattn__spv_<name>[]`, in the build tree only. DEPFILE makes an edit to an
# included .glsl rebuild the shaders that include it.
find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED)
option(SEATTN_SHADER_DEBUG "Compile shaders with debug info (-g)" OFF)

function(seattn_compile_shaders out_var)
  set(out_dir ${PROJECT_BINARY_DIR}/spirv)
  file(MAKE_DIRECTORY ${out_dir})
  set(headers)
  foreach(src ${ARGN})
    get_filename_component(name ${src} NAME_WE)
    set(out ${out_dir}/${name}.spv.h)
    set(debug)
    if(SEATTN_SHADER_DEBUG)
      set(debug -g)
    endif()
    add_custom_command(OUTPUT ${out}
      COMMAND ${GLSLANG_VALIDATOR} -V --target-env vulkan1.1 --quiet ${debug}
              --vn seattn__spv_${name} --depfile ${out_dir}/${name}.d -o ${out} ${src}
      DEPFILE ${out_dir}/${name}.d
      MAIN_DEPENDENCY ${src}
      COMMENT "glslangValidator ${name}.comp")
    list(APPEND headers ${out})
  endforeach()
  set(${out_var} ${headers} PARENT_SCOPE)
endfunction()

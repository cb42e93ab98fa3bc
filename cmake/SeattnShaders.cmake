# Compiles each GLSL compute shader with glslangValidator into a header holding
# `const uint32_t seattn__spv_<name>[]`, in the build tree only, and again with -DSEATTN_F16
# (16-bit storage declared) into seattn__spv_<name>_f16[]. DEPFILE makes an edit to an
# included .glsl rebuild the shaders that include it.
find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED)
option(SEATTN_SHADER_DEBUG "Compile shaders with debug info (-g)" OFF)

function(seattn_compile_shaders out_var)
  set(out_dir ${PROJECT_BINARY_DIR}/spirv)
  file(MAKE_DIRECTORY ${out_dir})
  set(headers)
  set(debug)
  if(SEATTN_SHADER_DEBUG)
    set(debug -g)
  endif()
  foreach(src ${ARGN})
    get_filename_component(base ${src} NAME_WE)
    foreach(variant "" "_f16")
      set(name ${base}${variant})
      set(defs)
      if(variant)
        set(defs -DSEATTN_F16=1)
      endif()
      set(out ${out_dir}/${name}.spv.h)
      add_custom_command(OUTPUT ${out}
        COMMAND ${GLSLANG_VALIDATOR} -V --target-env vulkan1.1 --quiet ${debug} ${defs}
                --vn seattn__spv_${name} --depfile ${out_dir}/${name}.d -o ${out} ${src}
        DEPFILE ${out_dir}/${name}.d
        MAIN_DEPENDENCY ${src}
        COMMENT "glslangValidator ${name}")
      list(APPEND headers ${out})
    endforeach()
  endforeach()
  set(${out_var} ${headers} PARENT_SCOPE)
endfunction()

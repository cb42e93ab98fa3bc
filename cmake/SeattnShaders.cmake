# Compiles each GLSL compute shader with glslangValidator into a header holding
# `const uint32_t seattn__spv_<name>[]`, in the build tree only, and again with -DSEATTN_F16
# (16-bit storage declared) into seattn__spv_<name>_f16[]. An argument `src=name:DEFINE,...`
# compiles src again as <name> with -D<DEFINE>=1 for each (flash.comp=flash_sg:SEATTN_SUBGROUP).
# DEPFILE makes an edit to an included .glsl rebuild the shaders that include it.
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
  foreach(arg ${ARGN})
    set(extra)
    if(arg MATCHES "^(.*)=([A-Za-z0-9_]+):([A-Z0-9_,]+)$")
      set(src ${CMAKE_MATCH_1})
      set(base ${CMAKE_MATCH_2})
      string(REPLACE "," ";" defines ${CMAKE_MATCH_3})
      foreach(def ${defines})
        list(APPEND extra -D${def}=1)
      endforeach()
    else()
      set(src ${arg})
      get_filename_component(base ${src} NAME_WE)
    endif()
    foreach(variant "" "_f16")
      set(name ${base}${variant})
      set(defs ${extra})
      if(variant)
        list(APPEND defs -DSEATTN_F16=1)
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

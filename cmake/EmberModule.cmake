# ember_module(<name> [SOURCES files...] [DEPENDS targets...])
#
# Declares the library target ember_<name> for the module folder <name>/:
# its include root is <name>/include (and nothing else of Ember's unless
# through DEPENDS), so a lower module that includes a higher module's header
# fails to compile. Without SOURCES the module is header-only (INTERFACE).
# Users reach it as ember::<name> after installation.
function(ember_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  set(target ember_${name})
  set(include_root $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  if(ARG_SOURCES)
    add_library(${target} ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC ${include_root})
    target_link_libraries(${target} PUBLIC ${ARG_DEPENDS} PRIVATE ember_options)
    target_compile_features(${target} PUBLIC cxx_std_20)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${include_root})
    target_link_libraries(${target} INTERFACE ${ARG_DEPENDS})
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
endfunction()

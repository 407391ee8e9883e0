# cmake --install: headers, static libraries and an exported EmberConfig.cmake,
# so that another project can do
#   find_package(Ember REQUIRED)
#   target_link_libraries(app PRIVATE ember::ember)
set(_ember_targets ember ember_options ember_core ember_simt ember_kernels ember_autograd ember_nn ember_optim ember_data ember_viz ember_distributed)
install(TARGETS ${_ember_targets} EXPORT EmberTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(_dir core kernels autograd nn optim data viz distributed)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/distributed/include/ember/distributed/config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember/distributed)
install(FILES ${PROJECT_SOURCE_DIR}/include/ember/ember.h ${PROJECT_BINARY_DIR}/include/ember/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember)
install(EXPORT EmberTargets NAMESPACE ember:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Ember)
configure_package_config_file(cmake/EmberConfig.cmake.in ${PROJECT_BINARY_DIR}/EmberConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Ember)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/EmberConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/EmberConfig.cmake ${PROJECT_BINARY_DIR}/EmberConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Ember)

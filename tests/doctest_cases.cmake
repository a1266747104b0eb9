# Included by ctest (TEST_INCLUDE_FILES): registers every doctest case of the unit-test binary
# as its own ctest entry, so per-case results show and `ctest -j` spreads them. The list comes
# from the binary at ctest time, so a new TEST_CASE needs no CMake edit. Suites named ibsim*,
# netns*, vm* need a simulator, namespaces or a VM: they get those labels and run one at a
# time; every other case is labelled unit. Expects TEST_BINARY and TEST_ENVIRONMENT.
function(fabricctl_add_cases label filter)
  execute_process(COMMAND "${TEST_BINARY}" --list-test-cases ${filter}
                  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    add_test(list-${label}-cases "${TEST_BINARY}" --list-test-cases ${filter})
    return()
  endif()
  # Case names may hold ';' (a CMake list separator) and ',' (a doctest filter separator):
  # both become '?' (doctest's one-character wildcard) in the filter and ',' in the name.
  string(REPLACE ";" "?" listing "${listing}")
  string(REPLACE "\n" ";" lines "${listing}")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^\\[doctest\\]" OR line MATCHES "^=+$")
      continue()
    endif()
    string(REPLACE "," "?" case_filter "${line}")
    string(REPLACE "?" "," name "${line}")
    add_test("${label}: ${name}" "${TEST_BINARY}" "--test-case=${case_filter}" --no-intro)
    set(properties LABELS ${label})
    if(NOT label STREQUAL "unit")
      list(APPEND properties RUN_SERIAL TRUE)
    endif()
    set_tests_properties("${label}: ${name}" PROPERTIES ${properties})
    if(TEST_ENVIRONMENT)
      set_tests_properties("${label}: ${name}" PROPERTIES ENVIRONMENT "${TEST_ENVIRONMENT}")
    endif()
  endforeach()
endfunction()

fabricctl_add_cases(unit "--test-suite-exclude=ibsim*,netns*,vm*")
fabricctl_add_cases(ibsim "--test-suite=ibsim*")
fabricctl_add_cases(netns "--test-suite=netns*")

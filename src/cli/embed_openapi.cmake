# Build step (cmake -P): writes docs/openapi.yaml into a C++ source as jlis::cli::openapi_document(),
# after checking that its info.version is the project's version (one version: the binary's).
# Inputs: -DINPUT=<openapi.yaml> -DOUTPUT=<.cpp> -DVERSION=<project version>
file(READ "${INPUT}" document)
string(REGEX MATCH "\ninfo:\n([ ]+[^\n]*\n)*[ ]+version: *'?([0-9A-Za-z.+-]+)" found "${document}")
if(NOT CMAKE_MATCH_2 STREQUAL VERSION)
  message(FATAL_ERROR "${INPUT}: info.version is '${CMAKE_MATCH_2}', the project's version is "
                      "'${VERSION}' (CMakeLists.txt project(VERSION)); make them the same")
endif()
string(FIND "${document}" ")openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )openapi\"")
endif()
file(WRITE "${OUTPUT}.tmp"
     "// Generated from docs/openapi.yaml by src/cli/embed_openapi.cmake; do not edit.\n"
     "#include \"cli/openapi_document.h\"\n\n"
     "namespace jlis::cli {\n"
     "std::string_view openapi_document() {\n"
     "  static constexpr char kDocument[] = R\"openapi(${document})openapi\";\n"
     "  return {kDocument, sizeof(kDocument) - 1};\n"
     "}\n"
     "}  // namespace jlis::cli\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

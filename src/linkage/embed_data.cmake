# Build step (cmake -P): writes a data file of src/linkage/data into a C++ source as the function
# jlis::linkage::<NAME>() answering its text, so the binary carries the tables it was built with.
# Inputs: -DINPUT=<file> -DOUTPUT=<.cpp> -DNAME=<function name>
file(READ "${INPUT}" text)
string(FIND "${text}" ")linkage\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )linkage\"")
endif()
file(WRITE "${OUTPUT}.tmp"
     "// Generated from ${INPUT} by src/linkage/embed_data.cmake; do not edit.\n"
     "#include <string_view>\n\n"
     "namespace jlis::linkage {\n"
     "std::string_view ${NAME}() {\n"
     "  static constexpr char kText[] = R\"linkage(${text})linkage\";\n"
     "  return {kText, sizeof(kText) - 1};\n"
     "}\n"
     "}  // namespace jlis::linkage\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

#pragma once
// The OpenAPI 3.1 description of the HTTP API (actors/openapi.json, compiled into the binary
// by CMake from actors/openapi_document.cpp.in), served at GET /v1/openapi.json.
// tests/tools/openapi_test.cpp checks the real answers of every endpoint against it.
#include <string_view>

namespace croupier::actors {

std::string_view openapi_document();

}  // namespace croupier::actors

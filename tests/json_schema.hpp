#pragma once
// A small JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator for tests: enough of it to
// check real answers against actors/openapi.json. Keywords: type (one or a list), properties,
// required, additionalProperties (false or a schema), items, enum, const, oneOf, anyOf, allOf,
// $ref (local "#/..." pointers), pattern (ECMAScript), minimum, maximum, minLength, maxLength,
// minItems, maxItems. Annotations (description, title, examples, format) are ignored. Any
// other keyword is an error: a schema this validator cannot read must not pass silently.
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace croupier::test {

class JsonSchema {
 public:
  // `document` holds every schema that a "$ref" may name (the OpenAPI document).
  explicit JsonSchema(nlohmann::json document) : doc_(std::move(document)) {}

  // The problems of `value` against `schema`, each naming where (a JSON pointer); none: valid.
  std::vector<std::string> check(const nlohmann::json& schema, const nlohmann::json& value) const {
    std::vector<std::string> out;
    check(schema, value, "", out);
    return out;
  }

  // The schema a "$ref" names.
  const nlohmann::json& resolve(const std::string& ref) const {
    if (ref.rfind("#/", 0) != 0) throw std::runtime_error("only local $refs are supported: " + ref);
    return doc_.at(nlohmann::json::json_pointer(ref.substr(1)));
  }

 private:
  static bool has_type(const nlohmann::json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    throw std::runtime_error("unknown type in schema: " + t);
  }

  void check(const nlohmann::json& schema, const nlohmann::json& v, const std::string& at,
             std::vector<std::string>& out) const {
    static const std::set<std::string> kKnown = {
        "type",     "properties", "required", "additionalProperties", "items",     "enum",      "const",
        "oneOf",    "anyOf",      "allOf",    "$ref",                 "pattern",   "minimum",   "maximum",
        "minLength", "maxLength", "minItems", "maxItems",             "description", "title",   "examples",
        "format",   "example"};
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) out.push_back(at + ": not allowed here");
      return;
    }
    for (auto it = schema.begin(); it != schema.end(); ++it)
      if (!kKnown.count(it.key())) throw std::runtime_error("schema keyword not supported: " + it.key() + " at " + at);
    if (schema.contains("$ref")) check(resolve(schema["$ref"]), v, at, out);
    if (schema.contains("type")) {
      const auto& t = schema["type"];
      bool ok = false;
      if (t.is_string()) ok = has_type(v, t);
      for (const auto& one : t.is_array() ? t : nlohmann::json::array()) ok = ok || has_type(v, one);
      if (!ok) {
        out.push_back(at + ": " + v.dump() + " is not of type " + t.dump());
        return;
      }
    }
    if (schema.contains("enum")) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || e == v;
      if (!found) out.push_back(at + ": " + v.dump() + " is not one of " + schema["enum"].dump());
    }
    if (schema.contains("const") && schema["const"] != v) out.push_back(at + ": " + v.dump() + " is not " + schema["const"].dump());
    check_combinations(schema, v, at, out);
    if (v.is_object()) check_object(schema, v, at, out);
    if (v.is_array()) check_array(schema, v, at, out);
    if (v.is_string()) check_string(schema, v.get<std::string>(), at, out);
    if (v.is_number()) check_number(schema, v, at, out);
  }

  void check_combinations(const nlohmann::json& schema, const nlohmann::json& v, const std::string& at,
                          std::vector<std::string>& out) const {
    if (schema.contains("allOf"))
      for (const auto& s : schema["allOf"]) check(s, v, at, out);
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const bool one = schema.contains("oneOf");
      std::size_t matched = 0;
      std::vector<std::string> why;
      for (const auto& s : schema[one ? "oneOf" : "anyOf"]) {
        std::vector<std::string> e;
        check(s, v, at, e);
        if (e.empty()) ++matched;
        else why.push_back(e.front());
      }
      if (matched == 0) {
        std::string all;
        for (const auto& w : why) all += "\n    " + w;
        out.push_back(at + ": matches none of its " + std::string(one ? "oneOf" : "anyOf") + " schemas:" + all);
      } else if (one && matched > 1) {
        out.push_back(at + ": matches " + std::to_string(matched) + " of its oneOf schemas, not exactly one");
      }
    }
  }

  void check_object(const nlohmann::json& schema, const nlohmann::json& v, const std::string& at,
                    std::vector<std::string>& out) const {
    const nlohmann::json none = nlohmann::json::object();
    const auto& props = schema.contains("properties") ? schema["properties"] : none;
    for (const auto& r : schema.contains("required") ? schema["required"] : nlohmann::json::array())
      if (!v.contains(r.get<std::string>())) out.push_back(at + ": the required field " + r.get<std::string>() + " is missing");
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string here = at + "/" + it.key();
      if (props.contains(it.key())) {
        check(props[it.key()], it.value(), here, out);
      } else if (schema.contains("additionalProperties")) {
        check(schema["additionalProperties"], it.value(), here, out);
      }
    }
  }

  void check_array(const nlohmann::json& schema, const nlohmann::json& v, const std::string& at,
                   std::vector<std::string>& out) const {
    if (schema.contains("minItems") && v.size() < schema["minItems"].get<std::size_t>())
      out.push_back(at + ": fewer than " + schema["minItems"].dump() + " items");
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<std::size_t>())
      out.push_back(at + ": more than " + schema["maxItems"].dump() + " items");
    if (schema.contains("items"))
      for (std::size_t i = 0; i < v.size(); ++i) check(schema["items"], v[i], at + "/" + std::to_string(i), out);
  }

  void check_string(const nlohmann::json& schema, const std::string& s, const std::string& at,
                    std::vector<std::string>& out) const {
    if (schema.contains("pattern") && !std::regex_search(s, std::regex(schema["pattern"].get<std::string>())))
      out.push_back(at + ": \"" + s + "\" does not match " + schema["pattern"].get<std::string>());
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<std::size_t>())
      out.push_back(at + ": shorter than " + schema["minLength"].dump());
    if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<std::size_t>())
      out.push_back(at + ": longer than " + schema["maxLength"].dump());
  }

  void check_number(const nlohmann::json& schema, const nlohmann::json& v, const std::string& at,
                    std::vector<std::string>& out) const {
    // Compared as the JSON's own kind: a u64 above 2^63 stays exact.
    auto below = [](const nlohmann::json& a, const nlohmann::json& b) {
      if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<std::uint64_t>() < b.get<std::uint64_t>();
      if (a.is_number_integer() && b.is_number_integer()) {
        if (a.is_number_unsigned()) return false;  // a >= 0 > b (b signed negative) or handled above.
        if (b.is_number_unsigned()) return true;
        return a.get<std::int64_t>() < b.get<std::int64_t>();
      }
      return a.get<double>() < b.get<double>();
    };
    if (schema.contains("minimum") && below(v, schema["minimum"])) out.push_back(at + ": " + v.dump() + " is below " + schema["minimum"].dump());
    if (schema.contains("maximum") && below(schema["maximum"], v)) out.push_back(at + ": " + v.dump() + " is above " + schema["maximum"].dump());
  }

  nlohmann::json doc_;
};

}  // namespace croupier::test

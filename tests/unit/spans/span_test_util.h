// Helpers shared by the span-building tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "spans/span.h"

namespace sonde {

using AttrMap = std::map<std::string, std::string>;

// Attributes as a printable map: int 7 -> "i:7", bool -> "b:true", double ->
// "d:...", string array -> "[a|b]", string as is. Fails the test on a
// duplicate key.
inline AttrMap AsMap(const Attributes& attrs) {
  AttrMap out;
  for (const auto& a : attrs) {
    std::string v;
    if (auto* s = std::get_if<std::string>(&a.value)) v = *s;
    if (auto* i = std::get_if<int64_t>(&a.value)) v = "i:" + std::to_string(*i);
    if (auto* b = std::get_if<bool>(&a.value)) v = *b ? "b:true" : "b:false";
    if (auto* d = std::get_if<double>(&a.value)) v = "d:" + std::to_string(*d);
    if (auto* arr = std::get_if<StringArray>(&a.value)) {
      v = "[";
      for (size_t k = 0; k < arr->size(); ++k) v += (k ? "|" : "") + (*arr)[k];
      v += "]";
    }
    EXPECT_EQ(out.count(a.key), 0u) << "duplicate attribute " << a.key;
    out[a.key] = v;
  }
  return out;
}

}  // namespace sonde

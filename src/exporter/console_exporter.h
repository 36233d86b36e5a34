// Prints spans for a person at a terminal: one block per trace, child spans
// indented under their parents.
//
//   trace 4bf92f3577b34da6a3ce929d0e0e4736  3 spans
//     SERVER GET /users/{id}  200  12.3ms  service=flask-app pid=1234
//         http.route=/users/{id}  url.path=/users/42  client.address=10.0.0.7
//       CLIENT SELECT shop.users  OK  1.1ms  service=flask-app pid=1234
//           db.system=postgresql  db.query.text="SELECT * FROM users WHERE id=$1"
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "exporter/span_exporter.h"

namespace sonde {

enum class ColorMode { kAuto, kAlways, kNever };

class ConsoleExporter : public SpanExporter {
 public:
  // `out` is not owned and must outlive the exporter. kAuto colors only
  // when `out` is a terminal and NO_COLOR is not set.
  explicit ConsoleExporter(FILE* out = stdout, ColorMode color = ColorMode::kAuto);

  bool Export(const std::vector<Span>& batch) override;

  // The text Export writes for a batch; exposed for tests.
  std::string Format(const std::vector<Span>& batch) const;

 private:
  FILE* out_;
  bool color_;
};

}  // namespace sonde

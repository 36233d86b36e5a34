// Finds where functions live in an ELF file, for uprobes: the file offset of
// each named symbol of the dynamic (or, failing that, full) symbol table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sonde {

// Offsets, within the file at `path`, of those `names` it defines (function
// symbols with code: undefined imports are not reported). Empty when the
// file is not a readable 64-bit ELF file or defines none of them.
std::map<std::string, uint64_t> FindFunctionOffsets(const std::string& path,
                                                    const std::vector<std::string>& names);

}  // namespace sonde

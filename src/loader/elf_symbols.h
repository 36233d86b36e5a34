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

// A defined symbol of any type (functions, data).
struct ElfSymbol {
  uint64_t vaddr = 0;        // st_value: virtual address in the file's own layout
  uint64_t size = 0;         // st_size
  uint64_t file_offset = 0;  // where its bytes are in the file; 0 for .bss (no bytes)
};

// The defined symbols among `names` (dynamic symbol table first, then the
// full one), with their addresses and, when they have bytes in the file,
// their file offsets.
std::map<std::string, ElfSymbol> FindSymbols(const std::string& path, const std::vector<std::string>& names);

// The lowest virtual address of the file's loadable segments (page-aligned)
// and whether it is position independent (ET_DYN: loaded at a base chosen
// at run time). False when the file is not a readable 64-bit ELF file.
bool ElfLoadInfo(const std::string& path, uint64_t* first_vaddr, bool* relocatable);

// Reads `n` bytes at file offset `off`; false when the file is shorter.
bool ReadFileBytes(const std::string& path, uint64_t off, void* out, size_t n);

}  // namespace sonde

#include "loader/elf_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace sonde {
namespace {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const uint8_t*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // A pointer to `n` bytes at `off`, or null when they are not all in the file.
  const uint8_t* At(uint64_t off, uint64_t n) const {
    if (!data_ || off > size_ || n > size_ - off) return nullptr;
    return data_ + off;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The section headers of a 64-bit ELF file, or false.
bool SectionHeaders(const MappedFile& f, Elf64_Ehdr* eh, std::vector<Elf64_Shdr>* shdrs) {
  const uint8_t* h = f.At(0, sizeof(Elf64_Ehdr));
  if (!h || memcmp(h, ELFMAG, SELFMAG) != 0 || h[EI_CLASS] != ELFCLASS64) return false;
  memcpy(eh, h, sizeof(*eh));
  if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0) return false;
  const uint8_t* sh = f.At(eh->e_shoff, static_cast<uint64_t>(eh->e_shnum) * sizeof(Elf64_Shdr));
  if (!sh) return false;
  shdrs->resize(eh->e_shnum);
  memcpy(shdrs->data(), sh, shdrs->size() * sizeof(Elf64_Shdr));
  return true;
}

// Looks the names up in one symbol table section (only function symbols
// when `functions_only`).
void ScanSymbols(const MappedFile& f, const Elf64_Ehdr& eh, const std::vector<Elf64_Shdr>& shdrs,
                 const Elf64_Shdr& symtab, const std::vector<std::string>& names, bool functions_only,
                 std::map<std::string, ElfSymbol>* out) {
  if (symtab.sh_entsize != sizeof(Elf64_Sym) || symtab.sh_link >= eh.e_shnum) return;
  const Elf64_Shdr& strtab = shdrs[symtab.sh_link];
  const uint8_t* strs = f.At(strtab.sh_offset, strtab.sh_size);
  const uint8_t* syms = f.At(symtab.sh_offset, symtab.sh_size);
  if (!strs || !syms) return;
  const size_t count = symtab.sh_size / sizeof(Elf64_Sym);
  for (size_t i = 0; i < count && out->size() < names.size(); ++i) {
    Elf64_Sym sym;
    memcpy(&sym, syms + i * sizeof(Elf64_Sym), sizeof(sym));
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= eh.e_shnum || sym.st_value == 0) continue;
    if (functions_only && ELF64_ST_TYPE(sym.st_info) != STT_FUNC) continue;
    if (sym.st_name >= strtab.sh_size) continue;
    const char* s = reinterpret_cast<const char*>(strs + sym.st_name);
    std::string_view name(s, strnlen(s, strtab.sh_size - sym.st_name));
    for (const std::string& want : names) {
      if (name != want || out->count(want)) continue;
      const Elf64_Shdr& sec = shdrs[sym.st_shndx];
      ElfSymbol e;
      e.vaddr = sym.st_value;
      e.size = sym.st_size;
      if (sec.sh_type != SHT_NOBITS && sym.st_value >= sec.sh_addr && sym.st_value - sec.sh_addr < sec.sh_size)
        e.file_offset = sym.st_value - sec.sh_addr + sec.sh_offset;
      (*out)[want] = e;
      break;
    }
  }
}


std::map<std::string, ElfSymbol> FindSymbolsOf(const std::string& path, const std::vector<std::string>& names,
                                               bool functions_only) {
  std::map<std::string, ElfSymbol> out;
  MappedFile f(path);
  Elf64_Ehdr eh;
  std::vector<Elf64_Shdr> shdrs;
  if (!SectionHeaders(f, &eh, &shdrs)) return out;
  for (uint32_t type : {SHT_DYNSYM, SHT_SYMTAB}) {
    for (const Elf64_Shdr& s : shdrs)
      if (s.sh_type == type) ScanSymbols(f, eh, shdrs, s, names, functions_only, &out);
    if (out.size() == names.size()) break;
  }
  return out;
}

}  // namespace

std::map<std::string, ElfSymbol> FindSymbols(const std::string& path, const std::vector<std::string>& names) {
  return FindSymbolsOf(path, names, false);
}

std::map<std::string, uint64_t> FindFunctionOffsets(const std::string& path,
                                                    const std::vector<std::string>& names) {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, sym] : FindSymbolsOf(path, names, true))
    if (sym.file_offset != 0) out[name] = sym.file_offset;
  return out;
}

bool ElfLoadInfo(const std::string& path, uint64_t* first_vaddr, bool* relocatable) {
  MappedFile f(path);
  const uint8_t* h = f.At(0, sizeof(Elf64_Ehdr));
  if (!h || memcmp(h, ELFMAG, SELFMAG) != 0 || h[EI_CLASS] != ELFCLASS64) return false;
  Elf64_Ehdr eh;
  memcpy(&eh, h, sizeof(eh));
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return false;
  const uint8_t* ph = f.At(eh.e_phoff, static_cast<uint64_t>(eh.e_phnum) * sizeof(Elf64_Phdr));
  if (!ph) return false;
  bool any = false;
  uint64_t lowest = 0;
  for (uint32_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr p;
    memcpy(&p, ph + i * sizeof(Elf64_Phdr), sizeof(p));
    if (p.p_type != PT_LOAD) continue;
    if (!any || p.p_vaddr < lowest) lowest = p.p_vaddr;
    any = true;
  }
  if (!any) return false;
  *first_vaddr = lowest & ~static_cast<uint64_t>(4095);
  *relocatable = eh.e_type == ET_DYN;
  return true;
}

bool ReadFileBytes(const std::string& path, uint64_t off, void* out, size_t n) {
  MappedFile f(path);
  const uint8_t* p = f.At(off, n);
  if (!p) return false;
  memcpy(out, p, n);
  return true;
}

}  // namespace sonde

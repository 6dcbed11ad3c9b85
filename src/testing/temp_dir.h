// A temporary directory for tests, removed with its contents on destruction.
#ifndef OPSPILOT_TESTING_TEMP_DIR_H_
#define OPSPILOT_TESTING_TEMP_DIR_H_

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace opspilot::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "opspilot-test-XXXXXX").string();
    const char* made = mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("cannot create a temporary directory " + tmpl + ": " + std::strerror(errno));
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace opspilot::testing

#endif  // OPSPILOT_TESTING_TEMP_DIR_H_

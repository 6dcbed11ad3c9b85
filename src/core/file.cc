#include "core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace opspilot {
namespace {

// Writes all of `data` to `fd`, across short writes and signals.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Status WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FailedPrecondition("cannot write " + tmp + ": " + std::strerror(errno));
  const bool ok = WriteAll(fd, content.data(), content.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Internal("cannot write " + tmp + ": " + std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return Internal("cannot rename " + tmp + ": " + ec.message());
  }
  // The rename itself survives a crash only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  (void)SyncDirectory(dir);  // best effort, as before
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Internal("cannot open directory " + dir + ": " + std::strerror(errno));
  ::fsync(dfd);
  ::close(dfd);
  return Status::Ok();
}

Status CheckDirTarget(const std::string& dir) {
  std::error_code ec;
  if (dir.empty()) return InvalidArgument("an empty directory name");
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument(dir + " exists and is not a directory");
  }
  return Status::Ok();
}

Status ReplaceDirAtomic(const std::string& dir, const std::function<Status(const std::string& tmp)>& write) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target = fs::path(dir).lexically_normal();
  if (target.has_filename() == false) target = target.parent_path();  // "out/" -> "out"
  if (target.empty()) return InvalidArgument("an empty directory name");
  RETURN_IF_ERROR(CheckDirTarget(target.string()));
  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  fs::create_directories(parent, ec);
  if (ec) return FailedPrecondition("cannot create " + parent.string() + ": " + ec.message());
  const std::string tag = std::to_string(::getpid());
  const fs::path tmp = parent / ("." + target.filename().string() + ".tmp-" + tag);
  const fs::path old = parent / ("." + target.filename().string() + ".old-" + tag);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return FailedPrecondition("cannot create " + tmp.string() + ": " + ec.message());
  if (Status st = write(tmp.string()); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  const bool had = fs::exists(target, ec);
  if (had) {
    fs::remove_all(old, ec);
    fs::rename(target, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return Internal("cannot move " + target.string() + " aside: " + ec.message());
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    const std::string why = ec.message();
    if (had) fs::rename(old, target, ec);  // put the old one back
    fs::remove_all(tmp, ec);
    return Internal("cannot rename " + tmp.string() + " to " + target.string() + ": " + why);
  }
  if (had) fs::remove_all(old, ec);
  const int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open " + path);
  std::string buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Internal("cannot read " + path);
  return buf;
}

}  // namespace opspilot

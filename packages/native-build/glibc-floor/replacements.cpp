// glibc symbols newer than the floor that have no older version to bind to, replaced for a
// prebuilt binary (glibc-floor.cmake wraps each reference, ours and the static libstdc++'s, to
// the __wrap_ definition here). Hidden: the binary never exports them.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#define CWTS_STAT_VER 1  // _STAT_VER_LINUX of glibc's x86_64 <bits/stat.h> before 2.33
#elif defined(__aarch64__)
#define CWTS_STAT_VER 0  // the generic _STAT_VER
#else
#error "glibc-floor: no stat version known for this architecture"
#endif

extern "C" {
// Before 2.33 the stat family were inline wrappers around these (still exported, old versions).
int __fxstat64(int ver, int fd, struct stat64* st);
int __xstat64(int ver, const char* path, struct stat64* st);
int __lxstat64(int ver, const char* path, struct stat64* st);

#define CWTS_HIDDEN __attribute__((visibility("hidden")))

// glibc 2.32: libstdc++ skips atomic reference counting while this says the process has one
// thread. 0 ("maybe several threads") keeps every count atomic: always correct, and an addon
// runs beside Node's own threads anyway.
CWTS_HIDDEN char __wrap___libc_single_threaded = 0;

// glibc 2.36: libstdc++'s std::random_device. The kernel's generator, as arc4random uses; a
// kernel without getrandom (before 3.17) reads /dev/urandom.
CWTS_HIDDEN uint32_t __wrap_arc4random(void) {
  uint32_t value = 0;
  std::size_t got = 0;
  while (got < sizeof value) {
    ssize_t n = getrandom(reinterpret_cast<char*>(&value) + got, sizeof value - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (got == sizeof value) return value;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  got = 0;
  while (fd >= 0 && got < sizeof value) {
    ssize_t n = read(fd, reinterpret_cast<char*>(&value) + got, sizeof value - got);
    if (n > 0) got += static_cast<std::size_t>(n);
    else if (!(n < 0 && errno == EINTR)) break;
  }
  if (fd >= 0) close(fd);
  // No entropy source at all: std::random_device has no way to report it; abort rather than
  // hand out a predictable seed.
  if (got != sizeof value) __builtin_trap();
  return value;
}

// glibc 2.33: std::ifstream (libstdc++'s basic_file) and our own file reads.
CWTS_HIDDEN int __wrap_fstat64(int fd, struct stat64* st) { return __fxstat64(CWTS_STAT_VER, fd, st); }
CWTS_HIDDEN int __wrap_stat64(const char* path, struct stat64* st) { return __xstat64(CWTS_STAT_VER, path, st); }
CWTS_HIDDEN int __wrap_lstat64(const char* path, struct stat64* st) { return __lxstat64(CWTS_STAT_VER, path, st); }
}

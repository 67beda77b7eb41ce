# CMake toolchain file: Linux on 64-bit ARM (aarch64, glibc), cross-compiled from linux-x64 with
# Debian's cross compiler (apt-get install g++-aarch64-linux-gnu), whose C library and libstdc++
# live under /usr/aarch64-linux-gnu. @cwts/native-build passes it for `--prebuild` target
# linux-arm64 (with CMAKE_CXX_COMPILER from CWTS_CXX_LINUX_ARM64 when that is set); usable alone:
#   cmake -DCMAKE_TOOLCHAIN_FILE=.../linux-arm64.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
endif()
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
endif()
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
# Programs (cmake, node) are the build host's; libraries and headers only the target's, so a
# find_package never links an x86-64 library into the arm64 binary.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

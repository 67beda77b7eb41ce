// The one check every @cwts native addon makes before it writes an async call's result into a
// JavaScript typed array. The caller may detach the array (transfer its ArrayBuffer to a worker)
// or shrink it (a resizable buffer) while the call is in flight, so a result is never written
// into the array's memory off the JS thread: it is computed into addon memory, and copied here,
// on the JS thread, at completion, when the array is still attached and still long enough.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <string>

namespace cwts {

/**
 * The memory of the typed array `array` that `bytes` bytes of result may be copied into, or
 * nullptr with `*why` saying what happened to it (`name` names the argument in that message).
 * JS thread only.
 */
inline void* jsResultTarget(napi_env env, napi_value array, size_t bytes, const std::string& name, std::string* why) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok) {
    *why = name + " is no longer a typed array";
    return nullptr;
  }
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok) detached = data == nullptr;
  if (detached || (bytes > 0 && data == nullptr)) {
    *why = name + " was detached (its ArrayBuffer was transferred) while the call was in flight; the results were discarded";
    return nullptr;
  }
  size_t elementSize = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elementSize = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementSize = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementSize = 8; break;
    default: elementSize = 1;
  }
  if (length * elementSize < bytes) {
    *why = name + " shrank to " + std::to_string(length * elementSize) + " bytes while the call was in flight (" + std::to_string(bytes) +
           " needed); the results were discarded";
    return nullptr;
  }
  return data;
}

}  // namespace cwts

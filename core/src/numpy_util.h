// Internal: the few numpy C-API calls cosim needs, kept in one translation unit.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>

namespace cosim::py {

// Import numpy's C API; call once at module initialisation. Returns false with a Python
// error set on failure.
bool init_numpy();
// A new 1-D uint8 array of n bytes; *data receives its buffer. New reference or null.
PyObject* new_u8_array(std::size_t n, std::uint8_t** data);
// A 1-D uint8 array viewing n bytes at ptr without copying; `owner` is kept alive as the
// array's base. New reference or null.
PyObject* u8_view(void* ptr, std::size_t n, PyObject* owner, bool writable);

}  // namespace cosim::py

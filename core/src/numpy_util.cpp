#include "numpy_util.h"

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL cosim_numpy_api
#include <numpy/arrayobject.h>

namespace cosim::py {

bool init_numpy() {
  if (PyArray_API != nullptr) return true;
  return _import_array() >= 0;
}

PyObject* new_u8_array(std::size_t n, std::uint8_t** data) {
  npy_intp dims[1] = {static_cast<npy_intp>(n)};
  PyObject* a = PyArray_SimpleNew(1, dims, NPY_UINT8);
  if (a != nullptr) *data = static_cast<std::uint8_t*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(a)));
  return a;
}

PyObject* u8_view(void* ptr, std::size_t n, PyObject* owner, bool writable) {
  npy_intp dims[1] = {static_cast<npy_intp>(n)};
  PyObject* a = PyArray_New(&PyArray_Type, 1, dims, NPY_UINT8, nullptr, ptr, 0,
                            writable ? NPY_ARRAY_CARRAY : NPY_ARRAY_CARRAY_RO, nullptr);
  if (a == nullptr) return nullptr;
  Py_INCREF(owner);
  if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(a), owner) < 0) {
    Py_DECREF(a);
    return nullptr;
  }
  return a;
}

}  // namespace cosim::py

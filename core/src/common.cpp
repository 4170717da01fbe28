#include "cosim/common.h"

#include <cstdio>

namespace cosim {

std::string format_ps(Picos ps) {
  static const struct {
    Picos scale;
    const char* unit;
  } units[] = {{1000000000000ULL, "s"}, {1000000000ULL, "ms"}, {1000000ULL, "us"},
               {1000ULL, "ns"}, {1ULL, "ps"}};
  for (const auto& u : units) {
    if (ps >= u.scale || u.scale == 1) {
      char buf[64];
      if (ps % u.scale == 0)
        std::snprintf(buf, sizeof buf, "%llu %s",
                      static_cast<unsigned long long>(ps / u.scale), u.unit);
      else
        std::snprintf(buf, sizeof buf, "%.6g %s",
                      static_cast<double>(ps) / static_cast<double>(u.scale), u.unit);
      return buf;
    }
  }
  return "0 ps";
}

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

void set_error(tlm::tlm_generic_payload& gp, tlm::tlm_response_status status,
               const std::string& target, const std::string& message) {
  gp.set_response_status(status);
  ErrorInfo* info = nullptr;
  gp.get_extension(info);
  if (info == nullptr) {
    gp.set_extension(new ErrorInfo(target, message));
  }
}

void clear_error_info(tlm::tlm_generic_payload& gp) {
  ErrorInfo* info = nullptr;
  gp.get_extension(info);
  if (info != nullptr) {
    gp.clear_extension(info);
    delete info;
  }
}

const char* response_name(tlm::tlm_response_status s) {
  switch (s) {
    case tlm::TLM_OK_RESPONSE: return "OK";
    case tlm::TLM_INCOMPLETE_RESPONSE: return "INCOMPLETE";
    case tlm::TLM_GENERIC_ERROR_RESPONSE: return "GENERIC_ERROR";
    case tlm::TLM_ADDRESS_ERROR_RESPONSE: return "ADDRESS_ERROR";
    case tlm::TLM_COMMAND_ERROR_RESPONSE: return "COMMAND_ERROR";
    case tlm::TLM_BURST_ERROR_RESPONSE: return "BURST_ERROR";
    case tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE: return "BYTE_ENABLE_ERROR";
  }
  return "UNKNOWN";
}

const char* command_name(tlm::tlm_command c) {
  switch (c) {
    case tlm::TLM_READ_COMMAND: return "read";
    case tlm::TLM_WRITE_COMMAND: return "write";
    case tlm::TLM_IGNORE_COMMAND: return "ignore";
  }
  return "unknown";
}

}  // namespace cosim

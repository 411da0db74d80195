#pragma once

#include <string>
#include <vector>

namespace joelclaw {

/// One command-line flag as written: "--name=value" (value inline) or
/// "--name" (a value, if the flag takes one, is the next argument).
struct FlagArg {
  std::string name;
  std::string value;
  bool has_value = false;  ///< True when the value was inline after '='.
};

/// Splits one argument at its first '='. Pure.
inline FlagArg SplitFlag(const std::string& arg) {
  FlagArg f{arg, "", false};
  const size_t eq = arg.find('=');
  if (eq != std::string::npos) {
    f.name = arg.substr(0, eq);
    f.value = arg.substr(eq + 1);
    f.has_value = true;
  }
  return f;
}

/// For a flag that takes a value: keeps an inline value, or takes the next
/// argument (advancing *i). False with "flag NAME needs a value" in *error
/// when there is none.
inline bool TakeFlagValue(const std::vector<std::string>& args, size_t* i, FlagArg* flag,
                          std::string* error) {
  if (flag->has_value) return true;
  if (*i + 1 >= args.size()) {
    *error = "flag " + flag->name + " needs a value";
    return false;
  }
  flag->value = args[++*i];
  return true;
}

}  // namespace joelclaw

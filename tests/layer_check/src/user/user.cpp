// user: includes base's provider contract.
#include "base/module/contract.hpp"

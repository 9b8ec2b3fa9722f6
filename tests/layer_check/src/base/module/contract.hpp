// a provider header of base.
#pragma once
#include "base/base.hpp"

// low: includes a layer above it.
#pragma once
#include "base/base.hpp"
#include "high/high.hpp"

// base.
#pragma once

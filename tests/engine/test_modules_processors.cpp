// Placeholder: module tests are added with the modules.
#include <gtest/gtest.h>

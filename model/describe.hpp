// The module catalogue described for people and programs: JSON for /modules and
// `chronus-render --list-modules json`, Markdown for the README's module table.
#pragma once

#include <string>

namespace chronus::model {

// Every type with its ports and parameter specs, as one JSON document.
std::string catalogueJson(int indent = -1);
// A Markdown section: one table row per type, then one parameter table per type.
std::string catalogueMarkdown();

} // namespace chronus::model

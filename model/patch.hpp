// A patch as data: nodes (id, type, parameter values) and connections, with its JSON
// form. PatchSpec is what users edit, what files hold and what /patch/dump returns; it
// is turned into a runnable graph by compile() (model/compile.hpp) and then the engine's
// Graph::build().
#pragma once

#include "common/expected.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chronus::model {

using chronus::Expected;

// A parameter value as written by a user: a number or a word ("saw", "on", "x..x").
using ParamValue = std::variant<double, std::string>;

struct PatchSpec {
    struct Node {
        std::string id;
        std::string type;
        std::vector<std::pair<std::string, ParamValue>> params; // in the order given
        // Sets or replaces one parameter value, stored under the parameter's canonical name
        // (an alias replaces a value given under any name of the same parameter). Names
        // of unknown types or parameters are kept as given, for compile() to report.
        void set(const std::string &name, ParamValue value);
    };
    struct Connection {
        std::string from; // "node" or "node.output"
        std::string to;   // "node", "node.input" or "node.param" (modulation)
        double depth = 1.0;
        bool operator==(const Connection &) const = default;
    };

    std::vector<Node> nodes; // the implicit `output` node is not listed
    std::vector<Connection> connections;

    // Stores every parameter under its canonical name, the later of two values given for one
    // parameter winning (fromJson() and Node::set() already do; this is for specs built in code).
    void canonicalize();

    Node *findNode(std::string_view id);
    const Node *findNode(std::string_view id) const;

    // JSON text: {"nodes":[{"id","type","params":{}}], "connections":[{"from","to","depth"}]}.
    std::string toJson(int indent = 2) const;
    // Parses JSON text; errors name the offending element, or for text that is not JSON
    // the place: "patch is not valid JSON: line 3, column 7: ...". Does not check types or
    // ports (compile() does).
    static Expected<PatchSpec> fromJson(std::string_view text);
};

} // namespace chronus::model

// A patch as data: nodes (id, type, parameter values) and connections, with its JSON
// form. PatchSpec is what users edit, what files hold and what /patch/dump returns; it
// is turned into a runnable graph by compile() (model/compile.hpp) and then the engine's
// Graph::build().
#pragma once

#include "common/expected.hpp"

#include <cstdint>
#include <memory>
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
        // A poly's voice template (a patch of its own, JSON key "voice"); null: the default.
        std::shared_ptr<const PatchSpec> voice;
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

    // A MIDI controller mapped to a parameter (/midi/map): value min + cc/127 (max - min),
    // on an exponential scale for parameters in Hz.
    struct MidiMap {
        int cc = 0;           // 0..127
        std::string to;       // "node.param" or "poly.node.param" (a template parameter)
        double min = 0.0, max = 1.0;
        bool operator==(const MidiMap &) const = default;
    };
    // Which MIDI channel a poly listens to (/midi/bind): 0 every channel, 1..16 one channel, -1 none.
    // A poly not listed listens to every channel.
    struct MidiBind {
        std::string poly;
        int channel = 0;
        bool operator==(const MidiBind &) const = default;
    };

    std::vector<Node> nodes; // the implicit `output` node is not listed
    std::vector<Connection> connections;
    // A sound file loaded as a buffer (/buffer/load) for samplers to play; `hash` (of the
    // decoded samples, common/sample_file.hpp) is what every engine checks the file against;
    // empty: not checked.
    struct Buffer {
        std::string name;
        std::string file;
        std::string hash;
        bool operator==(const Buffer &) const = default;
    };
    std::vector<Buffer> buffers;     // JSON: "buffers": {"name": {"file": ..., "hash": ...}}
    std::vector<MidiBind> midiBinds; // JSON: "midi": {"bind": {...}, "maps": [...]}
    std::vector<MidiMap> midiMaps;
    // The shared clock (JSON "tempo": 126, "meter": [4, 4]): sequencers that give no bpm of
    // their own play at this tempo (/tempo).
    double tempo = 120.0;
    int meterBeats = 4;
    int meterUnit = 4;
    // Nodes whose output also goes out on JACK ports of its own, chronus:stem_<node>_L/R
    // (/stem; JSON "stems": ["drums", "bass"]), in port order.
    std::vector<std::string> stems;

    // Stores every parameter under its canonical name, the later of two values given for one
    // parameter winning (fromJson() and Node::set() already do; this is for specs built in code).
    void canonicalize();

    const Buffer *findBuffer(std::string_view name) const;
    Node *findNode(std::string_view id);
    const Node *findNode(std::string_view id) const;

    // JSON text: {"nodes":[{"id","type","params":{},"voice":{...}}], "connections":[{"from","to",
    // "depth"}], "midi":{"bind":{"poly":"all"|1..16},"maps":[{"cc","to","min","max"}]}}.
    std::string toJson(int indent = 2) const;
    // Parses JSON text; errors name the offending element, or for text that is not JSON
    // the place: "patch is not valid JSON: line 3, column 7: ...". Does not check types or
    // ports (compile() does). A "voice" given as a file name is read (relative to `baseDir`
    // when not absolute) and kept inline.
    static Expected<PatchSpec> fromJson(std::string_view text, std::string_view baseDir = {});
};

} // namespace chronus::model

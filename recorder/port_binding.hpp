// Which source port each recorder input records, decided once and kept: the recorder's
// inputs follow `--port` patterns in a way that does not depend on the order or the moment
// in which source ports appear, disappear and come back. Free of JACK so tests can drive it
// with port lists; control thread only (allocates).
//
// The rule:
// - A binding is a port name, and it lasts for the life of the process: an input whose
//   source port disappears waits for a port of that same name and records nothing else
//   meanwhile (no other port moves up into it, so no channel shifts and none sums two).
// - Leading patterns without * or ? bind their inputs at once, even to ports that do not
//   exist yet: `--port a:out_1 b:out_1` puts a:out_1 on in_1 whichever appears first.
// - Every other input is unbound until a port appears for it: ports matching the patterns,
//   in the order the patterns are given and in natural order ("out_2" before "out_10")
//   within a pattern, skipping ports already bound, fill the unbound inputs from the lowest.
//   A port already bound to an input is never bound to a second one.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace chronus::rec {

class PortBinding {
public:
    // `patterns`: port names or globs (* and ?); `inputs`: the number of recorder inputs.
    PortBinding(std::vector<std::string> patterns, std::size_t inputs);

    // Binds unbound inputs to matching ports among `ports` (all source ports that exist
    // now, any order) that are not bound yet. Returns the inputs it bound.
    std::vector<std::size_t> bindNew(const std::vector<std::string> &ports);
    // True when bindNew(ports) would bind something.
    bool wouldBind(const std::vector<std::string> &ports) const;

    // The port input `input` records ("" while unbound).
    const std::string &boundTo(std::size_t input) const { return bound_[input]; }
    std::size_t inputs() const { return bound_.size(); }
    // True when `port` matches one of the patterns.
    bool matches(const std::string &port) const;
    // The first pattern `port` matches ("" if none).
    std::string patternOf(const std::string &port) const;

private:
    // Ports that bindNew() would bind, in input order.
    std::vector<std::string> candidates(const std::vector<std::string> &ports) const;
    bool isBound(const std::string &port) const;

    std::vector<std::string> patterns_;
    std::vector<std::string> bound_;
};

// True when `name` matches `glob` (* any run of characters, ? one character; nothing else
// is special).
bool globMatch(const std::string &glob, const std::string &name);
// "out_2" before "out_10": digit runs compare by value.
bool naturalLess(const std::string &a, const std::string &b);

} // namespace chronus::rec

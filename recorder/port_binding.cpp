#include "recorder/port_binding.hpp"

#include <algorithm>
#include <cctype>

namespace chronus::rec {

bool globMatch(const std::string &glob, const std::string &name)
{
    // Iterative matching with one backtrack point (the latest *): linear in practice.
    std::size_t g = 0, n = 0, starG = std::string::npos, starN = 0;
    while (n < name.size()) {
        if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
            ++g;
            ++n;
        } else if (g < glob.size() && glob[g] == '*') {
            starG = g++;
            starN = n;
        } else if (starG != std::string::npos) {
            g = starG + 1;
            n = ++starN;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*')
        ++g;
    return g == glob.size();
}

bool naturalLess(const std::string &a, const std::string &b)
{
    std::size_t i = 0, j = 0;
    auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            // Compare the runs by value without converting (they may exceed any integer):
            // leading zeros off, then the longer run is larger, then digit by digit.
            std::size_t ie = i, je = j;
            while (ie < a.size() && digit(a[ie]))
                ++ie;
            while (je < b.size() && digit(b[je]))
                ++je;
            std::size_t is = i, js = j;
            while (is + 1 < ie && a[is] == '0')
                ++is;
            while (js + 1 < je && b[js] == '0')
                ++js;
            if (ie - is != je - js)
                return ie - is < je - js;
            for (std::size_t k = 0; k < ie - is; ++k)
                if (a[is + k] != b[js + k])
                    return a[is + k] < b[js + k];
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j])
                return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

PortBinding::PortBinding(std::vector<std::string> patterns, std::size_t inputs)
    : patterns_(std::move(patterns)), bound_(inputs)
{
    // Names before the first glob have fixed places: in_k is the k-th name.
    for (std::size_t k = 0; k < patterns_.size() && k < inputs; ++k) {
        if (patterns_[k].find_first_of("*?") != std::string::npos)
            break;
        if (!isBound(patterns_[k]))
            bound_[k] = patterns_[k];
    }
}

bool PortBinding::isBound(const std::string &port) const
{
    return std::find(bound_.begin(), bound_.end(), port) != bound_.end();
}

bool PortBinding::matches(const std::string &port) const { return !patternOf(port).empty(); }

std::string PortBinding::patternOf(const std::string &port) const
{
    for (const std::string &p : patterns_)
        if (globMatch(p, port))
            return p;
    return {};
}

std::vector<std::string> PortBinding::candidates(const std::vector<std::string> &ports) const
{
    std::vector<std::string> out;
    std::size_t free = std::count(bound_.begin(), bound_.end(), std::string());
    for (const std::string &pattern : patterns_) {
        if (out.size() >= free)
            break;
        std::vector<std::string> matched;
        for (const std::string &p : ports)
            if (globMatch(pattern, p) && !isBound(p) && std::find(out.begin(), out.end(), p) == out.end())
                matched.push_back(p);
        std::sort(matched.begin(), matched.end(), naturalLess);
        matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
        for (std::string &m : matched)
            if (out.size() < free)
                out.push_back(std::move(m));
    }
    return out;
}

bool PortBinding::wouldBind(const std::vector<std::string> &ports) const { return !candidates(ports).empty(); }

std::vector<std::size_t> PortBinding::bindNew(const std::vector<std::string> &ports)
{
    std::vector<std::size_t> bound;
    std::size_t k = 0;
    for (std::string &port : candidates(ports)) {
        while (k < bound_.size() && !bound_[k].empty())
            ++k;
        if (k == bound_.size())
            break;
        bound_[k] = std::move(port);
        bound.push_back(k);
    }
    return bound;
}

} // namespace chronus::rec

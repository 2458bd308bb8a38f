// The catalogue as data: every type is described and ranged sanely, aliases resolve, and the
// sequencer's text parameters parse (and name what they cannot).
#include "model/modules/sequencer.hpp"
#include "model/module_spec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chronus::test {
namespace {

TEST(Catalogue, EveryProcessorParameterHasADescriptionAndSaneRange)
{
    for (const char *type : {"biquad_filter", "svf", "ladder", "vca", "mixer", "pan", "distortion", "delay", "reverb",
                             "limiter"}) {
        const auto *spec = model::findModule(type);
        ASSERT_NE(spec, nullptr) << type;
        EXPECT_FALSE(spec->description.empty()) << type;
        for (const auto &p : spec->params) {
            EXPECT_FALSE(p.description.empty()) << type << "." << p.name;
            EXPECT_LE(p.min, p.def) << type << "." << p.name;
            EXPECT_LE(p.def, p.max) << type << "." << p.name;
            if (p.type == model::ParamType::Enum) {
                EXPECT_EQ(p.max + 1.0f, static_cast<float>(p.choices.size())) << type << "." << p.name;
            }
        }
    }
    EXPECT_EQ(model::findModule("biquad_filter")->findParam("filter_mode"), 0);
    EXPECT_GE(model::findModule("biquad_filter")->findParam("frequency"), 0);
    EXPECT_GE(model::findModule("biquad_filter")->findParam("resonance"), 0);
    EXPECT_EQ(model::findModule("pan")->mainOutputs, 2u);
    EXPECT_EQ(model::findModule("delay")->mainInputs, 2u);
    EXPECT_EQ(model::findModule("reverb")->mainOutputs, 2u);
}

TEST(SequencerText, PatternParsesAccentsHitsAndRestsAndNamesABadCharacter)
{
    const auto &spec = *model::findModule("sequencer");
    const auto &pattern = spec.textParams[spec.findTextParam("pattern")];
    auto ok = pattern.parse("X.x. |x");
    ASSERT_TRUE(ok) << ok.error();
    EXPECT_EQ(*ok, (std::vector<float>{2, 0, 1, 0, 1}));
    auto bad = pattern.parse("x.o.");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("'o'"), std::string::npos) << bad.error();
    EXPECT_FALSE(pattern.parse(""));
    EXPECT_FALSE(pattern.parse(std::string(65, 'x')));
    EXPECT_TRUE(pattern.parse(std::string(64, 'x')));
}

TEST(SequencerText, NotesAcceptNamesMidiNumbersAndHertz)
{
    const auto &spec = *model::findModule("sequencer");
    const auto &notes = spec.textParams[spec.findTextParam("notes")];
    auto v = notes.parse("A4 C4, F#3 Bb2 45 110.5 200 110hz A-1");
    ASSERT_TRUE(v) << v.error();
    const std::vector<double> expected = {440.0, 261.6255653, 184.9972114, 116.5409404, 110.0,
                                          110.5, 200.0,       110.0,       13.75};
    // Four values per step (a chord's notes; 0 where a step has fewer).
    ASSERT_EQ(v->size(), expected.size() * model::sequencer::kChordNotes);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR((*v)[i * 4], expected[i], expected[i] * 1e-6) << "note " << i;
        EXPECT_EQ((*v)[i * 4 + 1], 0.0f) << "note " << i;
    }
    for (const char *wrong : {"H3", "C", "C#x", "abc", "-5.5", "99999.0", ""}) {
        auto e = notes.parse(wrong);
        EXPECT_FALSE(e) << wrong;
        if (!e && *wrong) {
            EXPECT_NE(e.error().find(wrong), std::string::npos) << e.error();
        }
    }
    const auto &lane = spec.textParams[spec.findTextParam("lane3")];
    auto l = lane.parse("1, -2.5 3e2");
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (std::vector<float>{1.0f, -2.5f, 300.0f}));
    auto bad = lane.parse("1 two");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("two"), std::string::npos);
}

} // namespace
} // namespace chronus::test

// engine::Param: smoothing is a linear ramp that lands exactly on its target after the
// smoothing time and then stops, so a module is back on its block path; skipping ahead gives
// the same bits as stepping; a snapshot taken mid-ramp continues it exactly.
#include "tests/synth-worker/engine/module_harness.hpp"

#include "synth-worker/engine/param.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

namespace chronus::test {
namespace {

constexpr double kRate = 48000.0;

engine::Param smoothed(float smoothingMs, float def, float min = 0.0f, float max = 2.0f)
{
    model::ParamSpec spec;
    spec.min = min;
    spec.max = max;
    spec.def = def;
    spec.smoothingMs = smoothingMs;
    engine::Param p;
    p.configure(spec, kRate);
    return p;
}

TEST(Param, ARampLandsExactlyOnItsTargetAfterTheSmoothingTimeAndStops)
{
    // 10 ms at 48 kHz: 480 samples. 0.5 -> 0.01 is the step a one-pole glide in float never
    // finished (its last increments rounded to nothing above the snap threshold).
    for (const auto &[from, to] : std::vector<std::pair<float, float>>{{0.5f, 0.01f}, {0.0f, 1.0f}, {1.9f, 1.3e-7f},
                                                                        {0.3f, 0.3000001f}}) {
        engine::Param p = smoothed(10.0f, from);
        p.set(to);
        EXPECT_FALSE(p.steady());
        float previous = from;
        for (int i = 1; i < 480; ++i) {
            const float v = p.next(0);
            ASSERT_FALSE(p.steady()) << from << " -> " << to << " stopped early, at sample " << i;
            // Monotonic: a ramp, no overshoot.
            ASSERT_TRUE(to > from ? v >= previous : v <= previous) << "sample " << i;
            previous = v;
        }
        EXPECT_EQ(p.next(0), to) << from << " -> " << to;
        EXPECT_TRUE(p.steady());
        EXPECT_EQ(p.next(0), to);
    }
}

TEST(Param, AParameterWithoutSmoothingStepsAtOnce)
{
    engine::Param p = smoothed(0.0f, 1.0f);
    p.set(0.25f);
    EXPECT_TRUE(p.steady());
    EXPECT_EQ(p.next(0), 0.25f);
}

TEST(Param, SkippingGivesTheSameValuesAsStepping)
{
    engine::Param stepped = smoothed(10.0f, 0.5f), skipped = smoothed(10.0f, 0.5f);
    stepped.set(1.7f);
    skipped.set(1.7f);
    for (std::uint32_t n : {1u, 31u, 32u, 100u, 7u, 400u}) {
        for (std::uint32_t i = 0; i < n; ++i)
            stepped.next(0);
        skipped.skip(n);
        ASSERT_EQ(skipped.current(), stepped.current()) << "after " << n;
        ASSERT_EQ(skipped.steady(), stepped.steady());
    }
    EXPECT_TRUE(skipped.steady());
}

TEST(Param, ANewTargetDuringARampStartsFromWhereTheRampIsAndTakesTheFullTime)
{
    engine::Param p = smoothed(10.0f, 0.0f);
    p.set(1.0f);
    for (int i = 0; i < 240; ++i)
        p.next(0);
    const float halfway = p.current();
    EXPECT_NEAR(halfway, 0.5f, 1e-6f);
    p.set(0.0f);
    const float first = p.next(0);
    // No jump: one step of the new ramp (0.5 / 480) from where it was.
    EXPECT_NEAR(first, halfway - halfway / 480.0f, 1e-6f);
    for (int i = 1; i < 479; ++i)
        p.next(0);
    EXPECT_FALSE(p.steady());
    EXPECT_EQ(p.next(0), 0.0f);
    EXPECT_TRUE(p.steady());
    // Setting the target it already heads for keeps the ramp's pace.
    p.set(1.0f);
    for (int i = 0; i < 100; ++i)
        p.next(0);
    engine::Param untouched = p;
    p.set(1.0f);
    for (int i = 0; i < 380; ++i)
        ASSERT_EQ(p.next(0), untouched.next(0)) << "sample " << i;
    EXPECT_TRUE(p.steady());
}

TEST(Param, ModulationIsAddedAndClampedAndKeepsTheParameterUnsteady)
{
    engine::Param p = smoothed(0.0f, 1.0f, 0.0f, 2.0f);
    const std::vector<float> mod = {0.5f, 5.0f, -3.0f};
    p.setModulation(mod.data());
    EXPECT_FALSE(p.steady());
    EXPECT_EQ(p.next(0), 1.5f);
    EXPECT_EQ(p.next(1), 2.0f);
    EXPECT_EQ(p.next(2), 0.0f);
}

TEST(Param, ASnapshotTakenMidRampContinuesItExactly)
{
    engine::Param a = smoothed(20.0f, 3.0f, 0.0f, 10.0f);
    a.set(7.5f);
    for (int i = 0; i < 333; ++i)
        a.next(0);
    engine::StateSizer sizer;
    a.visit(sizer);
    std::vector<std::byte> buffer(sizer.size());
    engine::StateWriter writer(buffer);
    a.visit(writer);
    engine::Param b = smoothed(20.0f, 0.0f, 0.0f, 10.0f);
    engine::StateReader reader(buffer);
    b.visit(reader);
    for (int i = 0; i < 1000; ++i)
        ASSERT_EQ(a.next(0), b.next(0)) << "sample " << i;
    EXPECT_TRUE(b.steady());
}

// Every smoothed parameter of every module, set to a new value as /mod does: after its
// smoothing time (rounded up to the block) the parameter is steady again, so no module stays
// on a per-sample path because of a change it has finished.
TEST(Param, EverySmoothedParameterOfEveryModuleSettlesWithinItsSmoothingTime)
{
    for (const auto &m : model::moduleCatalogue()) {
        for (std::size_t index = 0; index < m.params.size(); ++index) {
            const auto &spec = m.params[index];
            if (spec.smoothingMs <= 0.0f)
                continue;
            for (const double fraction : {0.0, 0.003, 0.37, 1.0}) {
                ModuleHarness h(m.type);
                const double value = spec.min + fraction * (spec.max - spec.min);
                if (static_cast<float>(value) == spec.def)
                    continue;
                h.set(spec.name, value, /*snap=*/false);
                ASSERT_FALSE(h.module().param(index).steady()) << m.type << "." << spec.name;
                const auto frames = static_cast<std::size_t>(std::ceil(spec.smoothingMs * 0.001 * kRate));
                h.render(frames, 64);
                EXPECT_TRUE(h.module().param(index).steady())
                    << m.type << "." << spec.name << " -> " << value << " after " << frames << " samples";
                EXPECT_EQ(h.module().param(index).current(), static_cast<float>(value)) << m.type << "." << spec.name;
            }
        }
    }
}

} // namespace
} // namespace chronus::test

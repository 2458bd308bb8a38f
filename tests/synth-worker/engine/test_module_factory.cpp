// The DSP factory table (synth-worker/engine/module_factory.cpp) and the model's catalogue
// (model/catalogue.cpp) list the same types, and each type's spec has exactly as many
// parameters and ports as its DSP module reads through the model/modules/<type>.hpp enums.
#include "model/module_spec.hpp"
#include "synth-worker/engine/module_factory.hpp"

#include <gtest/gtest.h>

using namespace chronus;

TEST(ModuleFactory, EveryCatalogueTypeHasADspFactory)
{
    for (const auto &spec : model::moduleCatalogue()) {
        const engine::ModuleFactory *factory = engine::findFactory(spec.type);
        ASSERT_NE(factory, nullptr) << spec.type << " has no DSP factory";
        EXPECT_EQ(factory->type, spec.type);
        EXPECT_NE(factory->create, nullptr) << spec.type;
    }
}

TEST(ModuleFactory, EveryFactoryHasACatalogueEntryUnderItsOwnName)
{
    for (const auto &factory : engine::moduleFactories()) {
        const model::ModuleSpec *spec = model::findModule(factory.type);
        ASSERT_NE(spec, nullptr) << factory.type << " is not in the catalogue";
        EXPECT_EQ(spec->type, factory.type) << "a factory listed under an alias";
        // findFactory() searches by halves: the table must be sorted by type.
        EXPECT_EQ(engine::findFactory(factory.type), &factory) << factory.type;
    }
    EXPECT_EQ(engine::moduleFactories().size(), model::moduleCatalogue().size());
    EXPECT_EQ(engine::findFactory("biquad"), nullptr) << "aliases are the catalogue's business";
    EXPECT_EQ(engine::findFactory("nosuch"), nullptr);
}

TEST(ModuleFactory, EachSpecHasAsManyParametersAndPortsAsItsDspModuleReads)
{
    for (const auto &factory : engine::moduleFactories()) {
        const model::ModuleSpec *spec = model::findModule(factory.type);
        ASSERT_NE(spec, nullptr) << factory.type;
        EXPECT_EQ(spec->params.size(), factory.params) << factory.type << " parameters";
        EXPECT_EQ(spec->textParams.size(), factory.textParams) << factory.type << " text parameters";
        EXPECT_EQ(spec->inputs.size(), factory.inputs) << factory.type << " inputs";
        EXPECT_EQ(spec->outputs.size(), factory.outputs) << factory.type << " outputs";
    }
}

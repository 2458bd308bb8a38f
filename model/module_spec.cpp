#include "model/module_spec.hpp"

namespace chronus::model {

int ModuleSpec::findParam(std::string_view name) const
{
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].name == name)
            return static_cast<int>(i);
        for (const auto &alias : params[i].aliases)
            if (alias == name)
                return static_cast<int>(i);
    }
    return -1;
}

int ModuleSpec::findTextParam(std::string_view name) const
{
    for (std::size_t i = 0; i < textParams.size(); ++i)
        if (textParams[i].name == name)
            return static_cast<int>(i);
    return -1;
}

int ModuleSpec::findStringField(std::string_view name) const
{
    for (std::size_t i = 0; i < stringFields.size(); ++i)
        if (stringFields[i].name == name)
            return static_cast<int>(i);
    return -1;
}

int ModuleSpec::findInput(std::string_view name) const
{
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].name == name)
            return static_cast<int>(i);
    return -1;
}

int ModuleSpec::findOutput(std::string_view name) const
{
    for (std::size_t i = 0; i < outputs.size(); ++i)
        if (outputs[i].name == name)
            return static_cast<int>(i);
    return -1;
}

const ModuleSpec *findModule(std::string_view typeOrAlias)
{
    for (const auto &spec : moduleCatalogue()) {
        if (spec.type == typeOrAlias)
            return &spec;
        for (const auto &alias : spec.aliases)
            if (alias == typeOrAlias)
                return &spec;
    }
    return nullptr;
}

} // namespace chronus::model

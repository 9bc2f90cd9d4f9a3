using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace InfraRelocation.Core.Tests.Schemas;

/// <summary>
/// The JSON Schemas the module ships for editors (module/Schemas, used through a
/// <c># yaml-language-server: $schema=</c> line) accept the sample estate and reject a broken copy, checked
/// with a real JSON Schema validator (JsonSchema.Net, draft 2020-12).
/// </summary>
public sealed class EstateSchemaTests
{
    private static readonly string RepoRoot = TestEstate.RepoRoot;
    private static readonly string SchemaFolder = Path.Combine(RepoRoot, "module", "Schemas");

    // Each estate file of the sample (the repository root is its estate root) and the schema for it.
    public static TheoryData<string, string> SampleFiles => new()
    {
        { "infra.relocation.plan.schema.json", "ops/bindings/infra.relocation.plan.yaml" },
        { "infra.placement.policy.schema.json", "ops/bindings/infra.placement.policy.yaml" },
        { "naming.policy.schema.json", "ops/bindings/naming.policy.yaml" },
        { "legacy.entrypoint.exceptions.schema.json", "ops/bindings/legacy.entrypoint.exceptions.yaml" },
        { "ssh.targets.schema.json", "ops/bindings/ssh.targets.yaml" },
        { "services.health.schema.json", "ops/bindings/services.health.yaml" },
        { "backup.inventory.schema.json", "ops/bindings/backup.inventory.yaml" },
        { "infra.vm.profiles.schema.json", "ops/bindings/infra.vm.profiles.yaml" },
        { "SERVICE_REGISTRY.schema.json", "ops/governance/SERVICE_REGISTRY.yaml" },
        { "STACK_REGISTRY.schema.json", "ops/governance/STACK_REGISTRY.yaml" },
        { "infra-relocation.schema.json", "ops/infra-relocation.yaml" },
    };

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public void SampleEstateFileIsValid(string schemaFile, string estateFile)
    {
        var errors = Validate(schemaFile, File.ReadAllText(Path.Combine(RepoRoot, estateFile)));
        Assert.True(errors.Count == 0, $"{estateFile} against {schemaFile}:\n{string.Join("\n", errors)}");
    }

    [Theory]
    [InlineData("infra.relocation.plan.schema.json", "ops/bindings/infra.relocation.plan.yaml", "state: \"preflight\"", "state: \"underway\"")]
    [InlineData("infra.relocation.plan.schema.json", "ops/bindings/infra.relocation.plan.yaml", "status: \"shadow\"", "status: [shadow]")]
    [InlineData("infra.placement.policy.schema.json", "ops/bindings/infra.placement.policy.yaml", "vmid_min: 200", "vmid_min: two hundred")]
    [InlineData("infra-relocation.schema.json", "ops/infra-relocation.yaml", "token_secret: { env: INFRA_RELOCATION_PVE_TOKEN }", "token_secret: { env: INFRA_RELOCATION_PVE_TOKEN, vault: x }")]
    public void BrokenCopyIsRejected(string schemaFile, string estateFile, string from, string to)
    {
        var text = File.ReadAllText(Path.Combine(RepoRoot, estateFile));
        Assert.Contains(from, text);
        var broken = text.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEmpty(Validate(schemaFile, broken));
    }

    [Fact]
    public void EverySchemaIsTestedAgainstTheSample()
    {
        var tested = SampleFiles.Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        var shipped = Directory.GetFiles(SchemaFolder, "*.schema.json").Select(Path.GetFileName).ToList();
        Assert.Equal(shipped.Order(StringComparer.Ordinal), tested.Order(StringComparer.Ordinal));
    }

    private static readonly Dictionary<string, JsonSchema> Loaded = new(StringComparer.Ordinal);

    private static List<string> Validate(string schemaFile, string yaml)
    {
        JsonSchema schema;
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(schemaFile, out schema!))
            {
                schema = JsonSchema.FromFile(Path.Combine(SchemaFolder, schemaFile));
                Loaded[schemaFile] = schema;
            }
        }
        using var json = JsonDocument.Parse(ToJson(yaml)?.ToJsonString() ?? "null");
        var result = schema.Evaluate(json.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return [];
        return (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
            .DefaultIfEmpty("invalid (no details)")
            .ToList();
    }

    // YAML 1.2 core schema: plain scalars that look like null, booleans or numbers are typed; quoted ones are strings.
    private static JsonNode? ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : ToJson(stream.Documents[0].RootNode);
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } plain => Typed(plain.Value ?? ""),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}."),
    };

    private static JsonNode? Typed(string text) => text switch
    {
        "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => JsonValue.Create(true),
        "false" or "False" or "FALSE" => JsonValue.Create(false),
        _ when Regex.IsMatch(text, "^[-+]?[0-9]+$") => JsonValue.Create(long.Parse(text, CultureInfo.InvariantCulture)),
        _ when Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$") => JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(text),
    };
}

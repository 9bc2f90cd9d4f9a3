using YamlDotNet.RepresentationModel;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// The optional estate configuration file (<c>ops/infra-relocation.yaml</c>):
/// <code>
/// paths:            # override any protocol file location (relative to the estate root)
///   service_registry: docs/SERVICE_REGISTRY.yaml
/// receipts:
///   folder: receipts
/// </code>
/// </summary>
public sealed class EstateConfig
{
    private static readonly Dictionary<string, EstateFile> s_pathKeys = new(StringComparer.Ordinal)
    {
        ["manifest"] = EstateFile.Manifest,
        ["placement_policy"] = EstateFile.PlacementPolicy,
        ["vm_profiles"] = EstateFile.VmProfiles,
        ["ssh_targets"] = EstateFile.SshTargets,
        ["backup_inventory"] = EstateFile.BackupInventory,
        ["health_bindings"] = EstateFile.HealthBindings,
        ["service_registry"] = EstateFile.ServiceRegistry,
        ["stack_registry"] = EstateFile.StackRegistry,
        ["device_identity"] = EstateFile.DeviceIdentity,
        ["naming_policy"] = EstateFile.NamingPolicy,
        ["exception_register"] = EstateFile.ExceptionRegister,
    };

    public Dictionary<EstateFile, string> PathOverrides { get; } = new();
    public string? ReceiptsFolder { get; private set; }

    /// <summary>Where each path entry is written (its value's line and column), so a path that escapes the root is located.</summary>
    public Dictionary<EstateFile, SourceLocation> PathLocations { get; } = new();
    public SourceLocation? ReceiptsFolderLocation { get; private set; }

    /// <summary>The whole document, for sections other parts of the module read (proxmox, ssh).</summary>
    public YamlMappingNode Document { get; private set; } = new();

    public static EstateConfig Load(string fullPath, string relativePath)
    {
        var config = new EstateConfig();
        var stream = new YamlStream();
        try
        {
            // Same guards as every estate file: folder, size, strict UTF-8 (BOM and CRLF are fine).
            using var reader = new StringReader(Yaml.LocatedYamlReader.ReadText(fullPath, relativePath).Text);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new RelocationException("EstateConfigInvalid", FailureKind.ParserError,
                $"{relativePath} is not valid YAML: {ex.InnerException?.Message ?? ex.Message}",
                new SourceLocation(relativePath, (int)ex.Start.Line, (int)ex.Start.Column), relativePath, ex);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return config;
        }
        config.Document = root;

        if (root.Children.TryGetValue(new YamlScalarNode("paths"), out var paths) && paths is YamlMappingNode pathMap)
        {
            foreach (var (key, value) in pathMap.Children)
            {
                var name = ((YamlScalarNode)key).Value ?? "";
                if (!s_pathKeys.TryGetValue(name, out var file))
                {
                    throw new RelocationException("EstateConfigUnknownPath", FailureKind.InvalidData,
                        $"{relativePath}: unknown path key '{name}'; known keys: {string.Join(", ", s_pathKeys.Keys)}.",
                        new SourceLocation(relativePath, (int)key.Start.Line, (int)key.Start.Column), name);
                }
                config.PathOverrides[file] = (value as YamlScalarNode)?.Value ?? "";
                config.PathLocations[file] = new SourceLocation(relativePath, (int)value.Start.Line, (int)value.Start.Column);
            }
        }
        if (root.Children.TryGetValue(new YamlScalarNode("receipts"), out var receipts) && receipts is YamlMappingNode receiptsMap &&
            receiptsMap.Children.TryGetValue(new YamlScalarNode("folder"), out var folder))
        {
            config.ReceiptsFolder = (folder as YamlScalarNode)?.Value;
            config.ReceiptsFolderLocation = new SourceLocation(relativePath, (int)folder.Start.Line, (int)folder.Start.Column);
        }
        return config;
    }
}

using InfraRelocation.Core.Estate.Readers;
using InfraRelocation.Core.Yaml;
using YamlDotNet.RepresentationModel;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// The optional estate configuration file (<c>ops/infra-relocation.yaml</c>):
/// <code>
/// paths:            # override any protocol file location (relative to the estate root)
///   service_registry: docs/SERVICE_REGISTRY.yaml
/// receipts:
///   folder: receipts
/// proxmox: ...      # read by ProxmoxSettings
/// </code>
/// Read like every estate file (the located YAML reader: regular files only, size, depth and encoding
/// limits, no aliases). Schema problems (unknown keys, wrong types, an empty file) are located findings;
/// any of them refuses the whole config (<c>EstateConfigInvalid</c>) rather than falling back to defaults.
/// </summary>
public sealed class EstateConfig
{
    /// <summary>The config is a few lines; anything this large is not one.</summary>
    public const long MaxBytes = 1024 * 1024;

    /// <summary>The top-level sections the module reads; a new section is added here, with its reader.</summary>
    public static IReadOnlySet<string> Sections { get; } = new HashSet<string>(StringComparer.Ordinal) { "paths", "receipts", "proxmox" };

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

    private readonly string _text;
    private YamlMappingNode? _document;

    private EstateConfig(string relativePath, string text, string sha256, YMapping root)
    {
        RelativePath = relativePath;
        _text = text;
        Sha256 = sha256;
        Root = root;
    }

    public string RelativePath { get; }

    /// <summary>SHA-256 of the file's bytes (an input digest of every receipt).</summary>
    public string Sha256 { get; }

    /// <summary>The located tree of the whole document, for the sections other parts of the module read.</summary>
    public YMapping Root { get; }

    public Dictionary<EstateFile, string> PathOverrides { get; } = new();
    public string? ReceiptsFolder { get; private set; }

    /// <summary>Where each path entry is written (its value's line and column), so a path that escapes the root is located.</summary>
    public Dictionary<EstateFile, SourceLocation> PathLocations { get; } = new();
    public SourceLocation? ReceiptsFolderLocation { get; private set; }

    /// <summary><c>receipts.signers</c>: the keys whose signatures make a receipt evidence the guards accept (none: signatures are not required).</summary>
    public List<Receipts.ReceiptSignerKey> Signers { get; } = [];

    /// <summary>
    /// The document as YamlDotNet's representation model, for <c>ProxmoxSettings</c> until it reads <see cref="Root"/>.
    /// Built only from text the located reader accepted (bounded depth, no aliases), and only when asked for.
    /// </summary>
    public YamlMappingNode Document
    {
        get
        {
            if (_document is null)
            {
                var stream = new YamlStream();
                stream.Load(new StringReader(_text));
                _document = (YamlMappingNode)stream.Documents[0].RootNode;
            }
            return _document;
        }
    }

    public static EstateConfig Load(string fullPath, string relativePath) =>
        Parse(LocatedYamlReader.ReadBytes(fullPath, relativePath, MaxBytes), relativePath);

    /// <summary>Reads a configuration from its bytes (a change staged in a transaction is checked this way before it is written).</summary>
    public static EstateConfig Parse(byte[] bytes, string relativePath)
    {
        var source = LocatedYamlReader.Decode(bytes, relativePath);
        var root = LocatedYamlReader.Parse(source.Text, relativePath);
        var context = new ReadContext(relativePath);
        if (root is null)
        {
            context.Report("SCHEMA.EmptyDocument", null, "", $"{relativePath} is empty; delete it to use the default locations, or configure a section ({string.Join(", ", Sections)}).");
        }
        else if (root is not YMapping)
        {
            context.Report("SCHEMA.WrongType", root, "", $"{relativePath} must be a mapping of sections ({string.Join(", ", Sections)}), found {root.Describe}.",
                expected: "mapping", actual: root.Describe);
        }
        var config = new EstateConfig(relativePath, source.Text, source.Sha256, root as YMapping ?? new YMapping(1, 1));
        foreach (var (key, value, path) in context.Entries(config.Root, ""))
        {
            if (!Sections.Contains(key.Value))
            {
                UnknownKey(context, key, path, Sections);
            }
            else if (key.Value == "paths")
            {
                foreach (var (name, target, itemPath) in context.Entries(value, path))
                {
                    if (!s_pathKeys.TryGetValue(name.Value, out var file))
                    {
                        UnknownKey(context, name, itemPath, s_pathKeys.Keys);
                    }
                    else if (PathValue(context, target, itemPath) is { } relative)
                    {
                        config.PathOverrides[file] = relative;
                        config.PathLocations[file] = context.At(target);
                    }
                }
            }
            else if (key.Value == "receipts")
            {
                foreach (var (name, target, itemPath) in context.Entries(value, path))
                {
                    if (name.Value == "signers")
                    {
                        ReadSigners(context, target, itemPath, config.Signers);
                    }
                    else if (name.Value != "folder")
                    {
                        UnknownKey(context, name, itemPath, ["folder", "signers"]);
                    }
                    else
                    {
                        config.ReceiptsFolder = PathValue(context, target, itemPath);
                        config.ReceiptsFolderLocation = context.At(target);
                    }
                }
            }
        }
        if (context.Findings.Count > 0)
        {
            var first = context.Findings[0];
            throw new RelocationException("EstateConfigInvalid", FailureKind.InvalidData,
                context.Findings.Count == 1
                    ? first.Message
                    : $"{context.Findings.Count} problems; the first: {first.Message} Others: " +
                      string.Join(" ", context.Findings.Skip(1).Select(f => $"{f.Location}: {f.Message}")),
                first.Location, relativePath)
            {
                Findings = context.Findings,
            };
        }
        return config;
    }

    // receipts.signers: [{name, key: "ssh-ed25519 AAAA… comment"}]: the operators whose signed receipts guards accept.
    private static void ReadSigners(ReadContext context, YNode node, string path, List<Receipts.ReceiptSignerKey> signers)
    {
        if (node is not YSequence)
        {
            context.Report("SCHEMA.WrongType", node, path, $"{path} must be a list of {{name, key}}, found {node.Describe}.", expected: "a list", actual: node.Describe);
            return;
        }
        foreach (var (item, _, itemPath) in context.Items(node, path))
        {
            string? name = null, key = null;
            YNode? keyNode = null;
            foreach (var (field, value, fieldPath) in context.Entries(item, itemPath))
            {
                if (field.Value is not ("name" or "key"))
                {
                    UnknownKey(context, field, fieldPath, ["name", "key"]);
                }
                else if (value is not YScalar { IsNull: false } scalar || scalar.Value.Trim().Length == 0)
                {
                    context.Report("SCHEMA.WrongType", value, fieldPath, $"{fieldPath} must be a string, found {value.Describe}.", expected: "a string", actual: value.Describe);
                }
                else if (field.Value == "name")
                {
                    name = scalar.Value;
                }
                else
                {
                    (key, keyNode) = (scalar.Value, value);
                }
            }
            if (name is null || key is null)
            {
                context.Report("SCHEMA.MissingField", item, itemPath, $"{itemPath} needs a name and a key (an OpenSSH Ed25519 public key line).");
                continue;
            }
            if (Receipts.ReceiptSignerKey.Parse(name, key, out var problem) is { } parsed)
            {
                signers.Add(parsed with { Location = context.At(keyNode!) });
            }
            else
            {
                context.Report("SCHEMA.WrongType", keyNode, $"{itemPath}.key", $"{itemPath}.key: {problem}.", expected: "ssh-ed25519 AAAA…");
            }
        }
    }

    private static void UnknownKey(ReadContext context, YScalar key, string path, IEnumerable<string> known) =>
        context.Report("SCHEMA.UnknownKey", key, path, $"Unknown key '{path}'; known keys here: {string.Join(", ", known)}.", subject: key.Value);

    // A location relative to the estate root: a non-empty string.
    private static string? PathValue(ReadContext context, YNode node, string path)
    {
        if (node is YScalar { IsNull: false } scalar && scalar.Value.Trim().Length > 0)
        {
            return scalar.Value;
        }
        context.Report("SCHEMA.WrongType", node, path, $"{path} must be a path relative to the estate root, found {node.Describe}.",
            expected: "a path", actual: node.Describe);
        return null;
    }
}

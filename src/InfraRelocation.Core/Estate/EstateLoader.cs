using System.Security.Cryptography;
using InfraRelocation.Core.Estate.Readers;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// Reads every protocol file of an estate into typed records. Malformed files (bad YAML, encoding, size,
/// a folder instead of a file) throw a located <see cref="RelocationException"/>; schema problems become
/// <see cref="Estate.ValidationFindings"/>. Missing files are null. Never writes anything.
/// </summary>
public static class EstateLoader
{
    /// <summary>Loads the whole estate (every file the layout names) and validates it.</summary>
    public static Estate Load(EstateLayout layout) => Load(layout, null, LocatedYamlReader.DefaultMaxBytes);

    /// <summary>
    /// Loads only <paramref name="only"/> (null: every file) and validates what was loaded;
    /// cross-file references are checked only between files that were loaded.
    /// </summary>
    public static Estate Load(EstateLayout layout, IReadOnlyCollection<EstateFile>? only, long maxBytes = LocatedYamlReader.DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var findings = new List<RelocationFinding>();
        var configPath = Path.Combine(layout.Root, EstateLayout.ConfigFile);
        if (File.Exists(configPath))
        {
            digests[EstateLayout.ConfigFile] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(configPath))).ToLowerInvariant();
        }

        T? ReadYaml<T>(EstateFile file, Func<YNode?, ReadContext, T> reader) where T : class
        {
            if (only is not null && !only.Contains(file))
            {
                return null;
            }
            var relative = layout.RelativePath(file);
            var full = layout.FullPath(file);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                return null;
            }
            var root = LocatedYamlReader.ParseFile(full, relative, out var source, maxBytes);
            digests[relative] = source.Sha256;
            if (root is null)
            {
                throw new RelocationException("YamlEmptyDocument", FailureKind.InvalidData,
                    $"The file is empty (no YAML content); it must hold the {file} document.",
                    new SourceLocation(relative, 1, 1), relative);
            }
            var context = new ReadContext(relative, findings);
            return reader(root, context);
        }

        DeviceIdentity? ReadDeviceIdentity()
        {
            const EstateFile file = EstateFile.DeviceIdentity;
            if (only is not null && !only.Contains(file))
            {
                return null;
            }
            var relative = layout.RelativePath(file);
            var full = layout.FullPath(file);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                return null;
            }
            var source = LocatedYamlReader.ReadText(full, relative, maxBytes);
            digests[relative] = source.Sha256;
            if (string.IsNullOrWhiteSpace(source.Text))
            {
                throw new RelocationException("MarkdownEmptyDocument", FailureKind.InvalidData,
                    "The file is empty; it must hold the device identity tables.", new SourceLocation(relative, 1, 1), relative);
            }
            return DeviceIdentityReader.Read(source.Text, new ReadContext(relative, findings));
        }

        var estate = new Estate
        {
            Layout = layout,
            Manifest = ReadYaml(EstateFile.Manifest, ManifestReader.Read),
            Policy = ReadYaml(EstateFile.PlacementPolicy, PlacementPolicyReader.Read),
            Profiles = ReadYaml(EstateFile.VmProfiles, VmProfilesReader.Read),
            SshTargets = ReadYaml(EstateFile.SshTargets, SshTargetsReader.Read),
            ServiceRegistry = ReadYaml(EstateFile.ServiceRegistry, ServiceRegistryReader.Read),
            StackRegistry = ReadYaml(EstateFile.StackRegistry, StackRegistryReader.Read),
            DeviceIdentity = ReadDeviceIdentity(),
            HealthBindings = ReadYaml(EstateFile.HealthBindings, HealthBindingsReader.Read),
            BackupInventory = ReadYaml(EstateFile.BackupInventory, BackupInventoryReader.Read),
            NamingPolicy = ReadYaml(EstateFile.NamingPolicy, NamingPolicyReader.Read),
            ExceptionRegister = ReadYaml(EstateFile.ExceptionRegister, ExceptionRegisterReader.Read),
        };
        if (only is null || only.Contains(EstateFile.Manifest))
        {
            if (estate.Manifest is null)
            {
                findings.Add(new RelocationFinding
                {
                    RuleId = "SCHEMA.FileMissing",
                    Severity = FindingSeverity.Error,
                    Message = $"The relocation manifest {layout.RelativePath(EstateFile.Manifest)} does not exist.",
                    Location = new SourceLocation(layout.RelativePath(EstateFile.Manifest), 1, 1),
                    Subject = layout.RelativePath(EstateFile.Manifest),
                });
            }
        }
        findings.AddRange(EstateValidator.Validate(estate));
        return estate with { ValidationFindings = findings, InputDigests = digests };
    }
}

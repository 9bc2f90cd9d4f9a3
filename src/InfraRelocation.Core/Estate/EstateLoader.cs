using System.Runtime.ExceptionServices;
using InfraRelocation.Core.Estate.Readers;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// Reads every protocol file of an estate into typed records. Malformed files (bad YAML, encoding, size,
/// a folder instead of a file) throw a located <see cref="RelocationException"/>; schema problems become
/// <see cref="Estate.ValidationFindings"/>. Missing files are null. Never writes anything.
/// Files are parsed one at a time, in a fixed order (findings and the first error too): each file's located tree is
/// garbage before the next one is built. Parsing two at once saved wall time only where a core was idle, and raised
/// a cold 10,000-service load's peak memory by 40 to 80 MiB and its CPU time (docs/benchmarks.md, "Cold runs").
/// </summary>
public static class EstateLoader
{
    /// <summary>Loads the whole estate (every file the layout names) and validates it.</summary>
    public static EstateSnapshot Load(EstateLayout layout) => Load(layout, null, LocatedYamlReader.DefaultMaxBytes);

    /// <summary>Loads the whole estate reusing unchanged files from <paramref name="cache"/> (null: read everything).</summary>
    public static EstateSnapshot Load(EstateLayout layout, EstateFileCache? cache) => Load(layout, null, LocatedYamlReader.DefaultMaxBytes, cache, null);

    /// <summary>
    /// Loads only <paramref name="only"/> (null: every file) and validates what was loaded;
    /// cross-file references are checked only between files that were loaded.
    /// </summary>
    public static EstateSnapshot Load(EstateLayout layout, IReadOnlyCollection<EstateFile>? only, long maxBytes = LocatedYamlReader.DefaultMaxBytes) =>
        Load(layout, only, maxBytes, UseCache ? EstateFileCache.Shared : null, null);

    /// <summary>
    /// Loads the estate as it will be after a change: files named in <paramref name="overlay"/> (relative paths, as
    /// <see cref="EstateLayout.RelativePath"/> spells them) are parsed from those bytes instead of the disk. Nothing
    /// is written; the mutation guard judges this estate before a transaction commits.
    /// </summary>
    public static EstateSnapshot Load(EstateLayout layout, IReadOnlyDictionary<string, byte[]> overlay, LocatedTrees? trees = null) =>
        Load(layout, null, LocatedYamlReader.DefaultMaxBytes, UseCache ? EstateFileCache.Shared : null, overlay, trees);

    /// <summary>The estate after a change (see above), with its own <paramref name="cache"/> (tests).</summary>
    internal static EstateSnapshot Load(EstateLayout layout, IReadOnlyDictionary<string, byte[]> overlay, EstateFileCache cache) =>
        Load(layout, null, LocatedYamlReader.DefaultMaxBytes, cache, overlay);

    /// <summary>Loads the whole estate within one stage of a change, reusing the trees of the texts it edited (<paramref name="trees"/>).</summary>
    public static EstateSnapshot Load(EstateLayout layout, LocatedTrees trees) =>
        Load(layout, null, LocatedYamlReader.DefaultMaxBytes, UseCache ? EstateFileCache.Shared : null, null, trees);

    private static EstateSnapshot Load(EstateLayout layout, IReadOnlyCollection<EstateFile>? only, long maxBytes, EstateFileCache? cache,
        IReadOnlyDictionary<string, byte[]>? overlay, LocatedTrees? trees = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var files = Enum.GetValues<EstateFile>().Where(f => only is null || only.Contains(f)).ToArray();
        var results = new FileResult[files.Length];
        using var batchGc = BatchGcScope.Enter();
        for (var i = 0; i < files.Length; i++)
        {
            var result = new FileResult();
            try
            {
                result.Value = LoadFile(layout, files[i], maxBytes, result, cache, overlay, trees);
            }
            catch (Exception ex)
            {
                result.Error = ExceptionDispatchInfo.Capture(ex);
            }
            results[i] = result;
        }

        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        if (layout.Config is { } config)
        {
            digests[config.RelativePath] = config.Sha256;
        }
        var findings = new List<RelocationFinding>();
        var values = new Dictionary<EstateFile, object?>();
        for (var i = 0; i < files.Length; i++)
        {
            results[i].Error?.Throw();
            if (results[i].Digest is { } digest)
            {
                digests[layout.RelativePath(files[i])] = digest;
            }
            findings.AddRange(results[i].Findings);
            values[files[i]] = results[i].Value;
        }

        T? Get<T>(EstateFile file) where T : class => values.GetValueOrDefault(file) as T;
        var estate = new EstateSnapshot
        {
            Layout = layout,
            Manifest = Get<RelocationManifest>(EstateFile.Manifest),
            Policy = Get<PlacementPolicy>(EstateFile.PlacementPolicy),
            Profiles = Get<VmProfileCatalog>(EstateFile.VmProfiles),
            SshTargets = Get<SshTargetCatalog>(EstateFile.SshTargets),
            ServiceRegistry = Get<ServiceRegistry>(EstateFile.ServiceRegistry),
            StackRegistry = Get<StackRegistry>(EstateFile.StackRegistry),
            DeviceIdentity = Get<DeviceIdentity>(EstateFile.DeviceIdentity),
            HealthBindings = Get<HealthBindings>(EstateFile.HealthBindings),
            BackupInventory = Get<BackupInventory>(EstateFile.BackupInventory),
            NamingPolicy = Get<NamingPolicy>(EstateFile.NamingPolicy),
            ExceptionRegister = Get<ExceptionRegister>(EstateFile.ExceptionRegister),
        };
        if (values.ContainsKey(EstateFile.Manifest) && estate.Manifest is null)
        {
            var manifestPath = layout.RelativePath(EstateFile.Manifest);
            findings.Add(RelocationFinding.Error("SCHEMA.FileMissing", $"The relocation manifest {manifestPath} does not exist.",
                new SourceLocation(manifestPath, 1, 1), subject: manifestPath));
        }
        findings.AddRange(EstateValidator.Validate(estate));
        return estate with { ValidationFindings = findings, InputDigests = digests };
    }

    private sealed class FileResult
    {
        public object? Value { get; set; }
        public string? Digest { get; set; }
        public List<RelocationFinding> Findings { get; } = [];
        public ExceptionDispatchInfo? Error { get; set; }
    }

    /// <summary>
    /// Reuse what was read from a file whose bytes have not changed (same path and SHA-256) since the last
    /// load in this process (<see cref="EstateFileCache.Shared"/>). On by default; turn it off to measure cold parsing.
    /// </summary>
    public static bool UseCache { get; set; } = true;

    /// <summary>Forgets every file of the shared cache.</summary>
    public static void ClearCache() => EstateFileCache.Shared.Clear();

    private static object? LoadFile(EstateLayout layout, EstateFile file, long maxBytes, FileResult result, EstateFileCache? cache,
        IReadOnlyDictionary<string, byte[]>? overlay, LocatedTrees? trees)
    {
        var relative = layout.RelativePath(file);
        var full = layout.FullPath(file);
        var staged = overlay?.GetValueOrDefault(relative.Replace('\\', '/'));
        if (staged is null && !File.Exists(full) && !Directory.Exists(full))
        {
            return null;
        }
        var bytes = staged ?? LocatedYamlReader.ReadBytes(full, relative, maxBytes);
        var digest = Digest.Sha256Hex(bytes);
        result.Digest = digest;
        if (cache?.TryGet(full, relative, digest, out var cached) == true)
        {
            result.Findings.AddRange(cached.Findings);
            return cached.Value;
        }
        var value = ParseFile(file, LocatedYamlReader.Decode(bytes, relative, digest), new ReadContext(relative, result.Findings), trees);
        if (staged is null)
        {
            // Staged bytes are an estate that may never be written (a preview's guard): caching them would evict the file
            // as it is, and the commit that follows would parse it again.
            cache?.Add(full, relative, digest, value, [.. result.Findings]);
        }
        return value;
    }

    private static object ParseFile(EstateFile file, SourceText source, ReadContext context, LocatedTrees? trees)
    {
        var relative = source.RelativePath;
        if (file == EstateFile.DeviceIdentity)
        {
            if (string.IsNullOrWhiteSpace(source.Text))
            {
                throw new RelocationException("MarkdownEmptyDocument", FailureKind.InvalidData,
                    "The file is empty; it must hold the device identity tables.", new SourceLocation(relative, 1, 1), relative);
            }
            return DeviceIdentityReader.Read(source.Text, context);
        }

        var root = trees is null ? LocatedYamlReader.Parse(source.Text, relative) : trees.Reuse(source.Text, relative);
        if (root is null)
        {
            throw new RelocationException("YamlEmptyDocument", FailureKind.InvalidData,
                $"The file is empty (no YAML content); it must hold the {file} document.",
                new SourceLocation(relative, 1, 1), relative);
        }
        return file switch
        {
            EstateFile.Manifest => ManifestReader.Read(root, context),
            EstateFile.PlacementPolicy => PlacementPolicyReader.Read(root, context),
            EstateFile.VmProfiles => VmProfilesReader.Read(root, context),
            EstateFile.SshTargets => SshTargetsReader.Read(root, context),
            EstateFile.BackupInventory => BackupInventoryReader.Read(root, context),
            EstateFile.HealthBindings => HealthBindingsReader.Read(root, context),
            EstateFile.ServiceRegistry => ServiceRegistryReader.Read(root, context),
            EstateFile.StackRegistry => StackRegistryReader.Read(root, context),
            EstateFile.NamingPolicy => NamingPolicyReader.Read(root, context),
            EstateFile.ExceptionRegister => ExceptionRegisterReader.Read(root, context),
            _ => throw new ArgumentOutOfRangeException(nameof(file), file, null),
        };
    }
}

using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Estate;

/// <summary>The protocol files an estate is made of.</summary>
public enum EstateFile
{
    Manifest,
    PlacementPolicy,
    VmProfiles,
    SshTargets,
    BackupInventory,
    HealthBindings,
    ServiceRegistry,
    StackRegistry,
    DeviceIdentity,
    NamingPolicy,
    ExceptionRegister,
}

/// <summary>
/// Where an estate's files live. Defaults follow the protocol's repository layout, so a real repository
/// laid out as the protocol says works unchanged; <c>ops/infra-relocation.yaml</c> may override paths.
/// </summary>
public sealed class EstateLayout
{
    /// <summary>The optional configuration file, relative to the estate root.</summary>
    public const string ConfigFile = "ops/infra-relocation.yaml";

    /// <summary>Environment variable naming the estate root when -Root is not given.</summary>
    public const string RootVariable = "INFRA_RELOCATION_ROOT";

    public static readonly IReadOnlyDictionary<EstateFile, string> DefaultPaths = new Dictionary<EstateFile, string>
    {
        [EstateFile.Manifest] = "ops/bindings/infra.relocation.plan.yaml",
        [EstateFile.PlacementPolicy] = "ops/bindings/infra.placement.policy.yaml",
        [EstateFile.VmProfiles] = "ops/bindings/infra.vm.profiles.yaml",
        [EstateFile.SshTargets] = "ops/bindings/ssh.targets.yaml",
        [EstateFile.BackupInventory] = "ops/bindings/backup.inventory.yaml",
        [EstateFile.HealthBindings] = "ops/bindings/services.health.yaml",
        [EstateFile.ServiceRegistry] = "docs/governance/SERVICE_REGISTRY.yaml",
        [EstateFile.StackRegistry] = "docs/governance/STACK_REGISTRY.yaml",
        [EstateFile.DeviceIdentity] = "docs/governance/DEVICE_IDENTITY_SSOT.md",
        [EstateFile.NamingPolicy] = "ops/bindings/naming.policy.yaml",
        [EstateFile.ExceptionRegister] = "ops/bindings/legacy.entrypoint.exceptions.yaml",
    };

    private readonly Dictionary<EstateFile, string> _paths;

    public EstateLayout(string root, IReadOnlyDictionary<EstateFile, string>? overrides = null, string receiptsFolder = "receipts",
        EstateConfig? config = null)
    {
        Config = config;
        Root = Path.GetFullPath(root);
        _paths = new Dictionary<EstateFile, string>(DefaultPaths);
        foreach (var (file, path) in overrides ?? new Dictionary<EstateFile, string>())
        {
            _paths[file] = path;
        }
        ReceiptsFolder = receiptsFolder;
        Boundary = new EstateBoundary(Root);
    }

    /// <summary>The root as a boundary: every path below resolves through it (see <see cref="EstateBoundary"/>).</summary>
    public EstateBoundary Boundary { get; }

    /// <summary>
    /// Resolves every path of the layout (each protocol file, the receipts folder and its ledger) through the
    /// boundary, so a configured path or a symbolic link that leaves the root stops the command before any read or write.
    /// </summary>
    public EstateLayout EnsureInsideRoot()
    {
        foreach (var file in _paths.Keys)
        {
            _ = FullPath(file);
        }
        _ = ReceiptsPath;
        return this;
    }

    /// <summary>The parsed <c>ops/infra-relocation.yaml</c>, or null when the estate has none.</summary>
    public EstateConfig? Config { get; }

    /// <summary>Absolute path of the estate root.</summary>
    public string Root { get; }

    /// <summary>Receipt ledger folder, relative to the root unless absolute.</summary>
    public string ReceiptsFolder { get; }

    /// <summary>Path of a file relative to the root, with forward slashes (as shown in findings).</summary>
    public string RelativePath(EstateFile file) => _paths[file];

    /// <summary>Absolute path of a file, resolved inside the root (else <c>EstatePathEscapesRoot</c> at its config entry).</summary>
    public string FullPath(EstateFile file) => Boundary.Resolve(_paths[file], Config?.PathLocations.GetValueOrDefault(file));

    /// <summary>Absolute path of the receipts folder, which (with its ledger file) must resolve inside the root.</summary>
    public string ReceiptsPath
    {
        get
        {
            var at = Config?.ReceiptsFolderLocation;
            _ = Boundary.Resolve(Path.Combine(ReceiptsFolder, Receipts.ReceiptStore.LedgerFileName), at);
            return Boundary.Resolve(ReceiptsFolder, at);
        }
    }

    /// <summary>Environment variable that moves the receipts folder for this process (absolute, or relative to the root).</summary>
    public const string ReceiptsVariable = "INFRA_RELOCATION_RECEIPTS";

    /// <summary>
    /// The receipts folder this process reads and writes: <c>$env:INFRA_RELOCATION_RECEIPTS</c> when set (the
    /// operator's choice for a read-only checkout or a CI job, so not bounded by the root), else <see cref="ReceiptsPath"/>.
    /// Every reader and writer of the ledger goes through it, so the guards read the ledger the receipts are written to.
    /// </summary>
    public string ActiveReceiptsPath => Environment.GetEnvironmentVariable(ReceiptsVariable) is { Length: > 0 } folder
        ? Path.GetFullPath(Path.Combine(Root, folder))
        : ReceiptsPath;

    /// <summary>What is on disk for a file now: whether it exists, its length and SHA-256 (lower-case hex).</summary>
    public EstateFileInfo Describe(EstateFile file)
    {
        var full = FullPath(file);
        byte[]? bytes;
        try
        {
            bytes = File.Exists(full) ? File.ReadAllBytes(full) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("EstateFileUnreadable", FailureKind.ResourceUnavailable,
                $"The file cannot be read: {ex.Message}", new SourceLocation(RelativePath(file), 1, 1), RelativePath(file));
        }
        return new EstateFileInfo
        {
            Kind = file.ToString(),
            Path = RelativePath(file),
            FullPath = full,
            Exists = bytes is not null,
            Sha256 = bytes is null ? "" : Digest.Sha256Hex(bytes),
            Length = bytes?.LongLength ?? 0,
            Root = Root,
        };
    }

    /// <summary>
    /// Finds the estate root: the explicit value, else <c>$env:INFRA_RELOCATION_ROOT</c>, else the nearest
    /// folder at or above <paramref name="currentDirectory"/> holding the manifest or the config file
    /// (the way git finds <c>.git</c>).
    /// </summary>
    public static string ResolveRoot(string? explicitRoot, string currentDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitRoot))
        {
            return RequireFolder(explicitRoot, "-Root");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(RootVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return RequireFolder(fromEnvironment, "$env:" + RootVariable);
        }

        for (var dir = new DirectoryInfo(currentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, DefaultPaths[EstateFile.Manifest])) ||
                File.Exists(Path.Combine(dir.FullName, ConfigFile)))
            {
                return dir.FullName;
            }
        }

        throw new RelocationException("EstateRootNotFound", FailureKind.ObjectNotFound,
            $"No estate found at or above '{currentDirectory}': no folder holds {DefaultPaths[EstateFile.Manifest]}. " +
            $"Pass -Root or set $env:{RootVariable}.", target: currentDirectory);
    }

    private static string RequireFolder(string path, string source)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            throw new RelocationException("EstateRootNotFound", FailureKind.ObjectNotFound,
                $"The estate root '{full}' given by {source} is not a folder.", target: path);
        }
        return full;
    }
}

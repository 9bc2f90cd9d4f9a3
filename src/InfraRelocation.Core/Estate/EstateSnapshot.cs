using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// Everything an estate's protocol files say, parsed once into typed records. Files that do not exist are
/// null (the gates decide whether that matters). Built by <c>EstateLoader</c>; tests may build it directly.
/// </summary>
public sealed record EstateSnapshot
{
    public required EstateLayout Layout { get; init; }
    public RelocationManifest? Manifest { get; init; }
    public PlacementPolicy? Policy { get; init; }
    public VmProfileCatalog? Profiles { get; init; }
    public SshTargetCatalog? SshTargets { get; init; }
    public ServiceRegistry? ServiceRegistry { get; init; }
    public StackRegistry? StackRegistry { get; init; }
    public DeviceIdentity? DeviceIdentity { get; init; }
    public HealthBindings? HealthBindings { get; init; }
    public BackupInventory? BackupInventory { get; init; }
    public NamingPolicy? NamingPolicy { get; init; }
    public ExceptionRegister? ExceptionRegister { get; init; }

    /// <summary>Schema findings from loading (wrong types, unknown enum values, duplicates, dangling references).</summary>
    public IReadOnlyList<RelocationFinding> ValidationFindings { get; init; } = [];

    /// <summary>SHA-256 (lower-case hex) of every file read, by path relative to the root.</summary>
    public IReadOnlyDictionary<string, string> InputDigests { get; init; } = new Dictionary<string, string>();
}

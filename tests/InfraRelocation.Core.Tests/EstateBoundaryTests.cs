using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests;

/// <summary>
/// Issue 16.5: the estate root is a boundary. Each way out (a '..' path entry, an absolute one, a symlinked folder,
/// a symlinked file) is a located <c>EstatePathEscapesRoot</c> before anything is read or written.
/// </summary>
public sealed class EstateBoundaryTests : IDisposable
{
    private readonly string _parent = Directory.CreateTempSubdirectory("ir-boundary-").FullName;
    private readonly string _root;
    private readonly string _outside;

    public EstateBoundaryTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_parent, "estate")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_parent, "outside")).FullName;
        Directory.CreateDirectory(Path.Combine(_root, "ops", "bindings"));
        File.WriteAllText(Path.Combine(_outside, "SERVICE_REGISTRY.yaml"), "hosts: {}\n");
    }

    public void Dispose() => Directory.Delete(_parent, recursive: true);

    private void Config(string text) => File.WriteAllText(Path.Combine(_root, EstateLayout.ConfigFile), text);

    private static RelocationException Escapes(Action action)
    {
        var ex = Assert.Throws<RelocationException>(action);
        Assert.Equal("EstatePathEscapesRoot", ex.ErrorId);
        Assert.Equal(FailureKind.SecurityError, ex.Kind);
        return ex;
    }

    [Fact]
    public void APathEntryClimbingOut_IsLocatedAtTheConfigEntry()
    {
        Config("# estate\npaths:\n  service_registry: ../outside/SERVICE_REGISTRY.yaml\n");
        var ex = Escapes(() => EstateLayoutLoader.Load(_root));
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 3, 21), ex.Location);
        Assert.Contains("climbs out", ex.Message);
    }

    [Fact]
    public void AnAbsoluteReceiptsFolderOutside_IsLocatedAtTheConfigEntry()
    {
        Config($"receipts:\n  folder: {_outside}\n");
        var ex = Escapes(() => EstateLayoutLoader.Load(_root));
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 2, 11), ex.Location);
        Assert.Contains("absolute path outside", ex.Message);
    }

    [Fact]
    public void AnAbsolutePathInsideTheRoot_IsAccepted()
    {
        Config($"receipts:\n  folder: {Path.Combine(_root, "evidence")}\n");
        Assert.Equal(Path.Combine(_root, "evidence"), EstateLayoutLoader.Load(_root).ReceiptsPath);
    }

    [Fact]
    public void ASymlinkedGovernanceFolder_IsRefusedAtLoad()
    {
        Directory.CreateDirectory(Path.Combine(_root, "docs"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "docs", "governance"), _outside);
        var ex = Escapes(() => EstateLayoutLoader.Load(_root));
        Assert.Contains("symbolic link", ex.Message);
        Assert.StartsWith("docs/governance/", ex.Location!.File);
    }

    [Fact]
    public void ASymlinkedFile_IsRefusedAtLoad_AndLocatedAtItsConfigEntry()
    {
        Config("paths:\n  service_registry: registry.yaml\n");
        File.CreateSymbolicLink(Path.Combine(_root, "registry.yaml"), Path.Combine(_outside, "SERVICE_REGISTRY.yaml"));
        var ex = Escapes(() => EstateLayoutLoader.Load(_root));
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 2, 21), ex.Location);
    }

    [Fact]
    public void ASymlinkedLedgerFile_IsRefused()
    {
        Directory.CreateDirectory(Path.Combine(_root, "receipts"));
        File.CreateSymbolicLink(Path.Combine(_root, "receipts", "ledger.jsonl"), Path.Combine(_outside, "ledger.jsonl"));
        Escapes(() => EstateLayoutLoader.Load(_root));
        Assert.False(File.Exists(Path.Combine(_outside, "ledger.jsonl")));
    }

    [Fact]
    public void ADanglingSymlinkOut_IsRefused()
    {
        // Writing through a dangling link would create the file outside the root.
        Directory.CreateDirectory(Path.Combine(_root, "docs", "governance"));
        File.CreateSymbolicLink(Path.Combine(_root, "docs", "governance", "SERVICE_REGISTRY.yaml"), Path.Combine(_outside, "new.yaml"));
        Escapes(() => EstateLayoutLoader.Load(_root));
    }

    [Fact]
    public void LinksInsideTheRoot_AreFine()
    {
        Directory.CreateDirectory(Path.Combine(_root, "real-governance"));
        Directory.CreateDirectory(Path.Combine(_root, "docs"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "docs", "governance"), Path.Combine(_root, "real-governance"));
        var layout = EstateLayoutLoader.Load(_root);
        Assert.Equal(Path.Combine(_root, "docs", "governance", "SERVICE_REGISTRY.yaml"), layout.FullPath(EstateFile.ServiceRegistry));
    }

    [Fact]
    public void ATransaction_RefusesALinkMadeAfterTheLayoutWasLoaded_AndWritesNothing()
    {
        // The transaction resolves through the same boundary, so a link planted between load and commit is refused.
        var registry = Path.Combine(_root, "docs", "governance", "SERVICE_REGISTRY.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(registry)!);
        File.CreateSymbolicLink(registry, Path.Combine(_outside, "SERVICE_REGISTRY.yaml"));
        var before = File.ReadAllBytes(Path.Combine(_outside, "SERVICE_REGISTRY.yaml"));

        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        Escapes(() => tx.Stage("docs/governance/SERVICE_REGISTRY.yaml", "hosts: { x: 1 }\n"u8.ToArray()));
        Escapes(() => tx.Stage("../outside/SERVICE_REGISTRY.yaml", "hosts: { x: 1 }\n"u8.ToArray()));
        Escapes(() => tx.Stage(Path.Combine(_outside, "SERVICE_REGISTRY.yaml"), "hosts: { x: 1 }\n"u8.ToArray()));
        Assert.Empty(tx.Commit().Files);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_outside, "SERVICE_REGISTRY.yaml")));
        Assert.Single(Directory.GetFiles(_outside));
    }
}

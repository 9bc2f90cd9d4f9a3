using InfraRelocation.Core.Estate;

namespace InfraRelocation.Core.Tests;

public sealed class EstateLayoutTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-layout-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void ResolveRoot_WalksUpToTheFolderHoldingTheManifest()
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops", "bindings"));
        File.WriteAllText(Path.Combine(_root, EstateLayout.DefaultPaths[EstateFile.Manifest]), "version: 1\n");
        var nested = Directory.CreateDirectory(Path.Combine(_root, "a", "b")).FullName;

        Assert.Equal(Path.GetFullPath(_root), EstateLayout.ResolveRoot(null, nested));
    }

    [Fact]
    public void ResolveRoot_WithoutAnEstate_FailsWithObjectNotFound()
    {
        var ex = Assert.Throws<RelocationException>(() => EstateLayout.ResolveRoot(null, _root));
        Assert.Equal("EstateRootNotFound", ex.ErrorId);
        Assert.Equal(FailureKind.ObjectNotFound, ex.Kind);
    }

    [Fact]
    public void Describe_GivesLengthAndLowerHexSha256_OrNotExists()
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops", "bindings"));
        File.WriteAllText(Path.Combine(_root, EstateLayout.DefaultPaths[EstateFile.Manifest]), "abc");
        var layout = new EstateLayout(_root);

        var manifest = layout.Describe(EstateFile.Manifest);
        Assert.True(manifest.Exists);
        Assert.Equal(3, manifest.Length);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", manifest.Sha256);
        Assert.Equal(EstateLayout.DefaultPaths[EstateFile.Manifest], manifest.Path);

        var missing = layout.Describe(EstateFile.ServiceRegistry);
        Assert.False(missing.Exists);
        Assert.Equal("", missing.Sha256);
        Assert.Equal(0, missing.Length);
    }

    [Fact]
    public void Config_OverridesAPathAndRejectsUnknownKeysWithTheirLocation()
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops"));
        var config = Path.Combine(_root, EstateLayout.ConfigFile);
        File.WriteAllText(config, "paths:\n  service_registry: registry/services.yaml\n");
        Assert.Equal("registry/services.yaml", EstateLayoutLoader.Load(_root).RelativePath(EstateFile.ServiceRegistry));

        File.WriteAllText(config, "paths:\n  servce_registry: x.yaml\n");
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_root));
        Assert.Equal("EstateConfigUnknownPath", ex.ErrorId);
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 2, 3), ex.Location);
    }
}

using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Tests.Model;

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
        Assert.Equal("EstateConfigInvalid", ex.ErrorId);
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 2, 3), ex.Location);
        Assert.Equal("SCHEMA.UnknownKey", Assert.Single(ex.Findings).RuleId);
    }

    [Theory]
    [InlineData("", "SCHEMA.EmptyDocument", 1, 1)]
    [InlineData("# only a comment\n", "SCHEMA.EmptyDocument", 1, 1)]
    [InlineData("- a\n", "SCHEMA.WrongType", 1, 1)]
    [InlineData("pahts:\n  manifest: x.yaml\n", "SCHEMA.UnknownKey", 1, 1)]
    [InlineData("paths: [a]\n", "SCHEMA.WrongType", 1, 8)]
    [InlineData("paths:\n  manifest: { a: b }\n", "SCHEMA.WrongType", 2, 13)]
    [InlineData("paths:\n  manifest:\n", "SCHEMA.WrongType", 2, 12)]
    [InlineData("receipts:\n  folder: 3\n  fodler: x\n", "SCHEMA.UnknownKey", 3, 3)]
    [InlineData("receipts: here\n", "SCHEMA.WrongType", 1, 11)]
    public void Config_SchemaProblemsAreLocatedFindings_NeverDefaults(string text, string ruleId, int line, int column)
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops"));
        File.WriteAllText(Path.Combine(_root, EstateLayout.ConfigFile), text);
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_root));
        Assert.Equal("EstateConfigInvalid", ex.ErrorId);
        Assert.Equal(ruleId, ex.Findings[0].RuleId);
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, line, column), ex.Findings[0].Location);
    }

    [Theory]
    [InlineData("nesting")]
    [InlineData("alias bomb")]
    [InlineData("size")]
    public void Config_HasTheLimitsOfEveryFile(string attack)
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops"));
        var (text, errorId) = attack switch
        {
            // 50,000 nested '[' once overflowed the stack and killed the process.
            "nesting" => ("paths: " + new string('[', 50_000) + "\n", "YamlTooDeep"),
            "alias bomb" => ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
                             "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "YamlAliasNotAllowed"),
            _ => ("# " + new string('x', (int)EstateConfig.MaxBytes) + "\n", "YamlFileTooLarge"),
        };
        File.WriteAllText(Path.Combine(_root, EstateLayout.ConfigFile), text);
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_root));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(EstateLayout.ConfigFile, ex.Location!.File);
    }

    [Fact]
    public void Config_TheSampleReadsWithoutFindings()
    {
        var layout = EstateLayoutLoader.Load(TestEstate.RepoRoot);
        Assert.Equal("ops/governance/SERVICE_REGISTRY.yaml", layout.RelativePath(EstateFile.ServiceRegistry));
        Assert.Equal(64, layout.Config!.Sha256.Length);
        Assert.True(layout.Config.Root.TryGet("proxmox", out _));
    }
}

/// <summary>Only regular files are read: a FIFO would block every command, a device never ends.</summary>
public sealed class NonRegularFileTests : IDisposable
{
    private readonly string _root = TestEstate.CopySample();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string, string> Cases() => new()
    {
        { "fifo", "ops/bindings/infra.relocation.plan.yaml" },
        { "fifo", EstateLayout.ConfigFile },
        { "zero", "ops/bindings/infra.relocation.plan.yaml" },
        { "zero", EstateLayout.ConfigFile },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void APipeOrADeviceInPlaceOfAFileIsALocatedError(string kind, string relative)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs and /dev/zero are checked on Linux");
        var path = Path.Combine(_root, relative);
        File.Delete(path);
        if (kind == "fifo")
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", path)!;
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        else
        {
            File.CreateSymbolicLink(path, "/dev/zero");
        }
        var load = Task.Run(() => EstateLoader.Load(EstateLayoutLoader.Load(_root), cache: null));
        try
        {
            Assert.True(load.Wait(TimeSpan.FromSeconds(60)) || load.IsFaulted, "reading the estate hung on a non-regular file");
        }
        catch (AggregateException)
        {
        }
        finally
        {
            if (!load.IsCompleted && kind == "fifo")
            {
                File.WriteAllText(path, ""); // release the blocked reader
            }
        }
        var ex = Assert.IsType<RelocationException>(load.Exception?.InnerException);
        // A symlink out of the root is refused by the estate boundary before anything is opened.
        Assert.Equal(kind == "fifo" ? "EstateFileNotRegular" : EstateBoundary.EscapeErrorId, ex.ErrorId);
        Assert.Equal(relative, ex.Location!.File);
    }

    [SkippableTheory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/null")]
    public void TheReaderRefusesDevicesItself(string device)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "devices are checked on Linux");
        var ex = Assert.Throws<RelocationException>(() => InfraRelocation.Core.Yaml.LocatedYamlReader.ReadBytes(device, "ops/x.yaml"));
        Assert.Equal("EstateFileNotRegular", ex.ErrorId);
        Assert.Equal(new SourceLocation("ops/x.yaml", 1, 1), ex.Location);
    }
}

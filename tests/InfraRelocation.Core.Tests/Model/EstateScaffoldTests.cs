using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Model;

public sealed class EstateScaffoldTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-scaffold-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void WriteAll()
    {
        foreach (var item in EstateScaffold.Plan(_root, "CHG-TEST-1", "@tester")) EstateScaffold.Write(_root, item);
    }

    [Fact]
    public void ScaffoldIsAValidEstateWithEveryProtocolFile()
    {
        WriteAll();
        var estate = TestEstate.Load(_root);

        Assert.Empty(estate.ValidationFindings.Select(f => f.ToString()));
        Assert.Equal("CHG-TEST-1", estate.Manifest!.ActiveRelocation!.ChangeId);
        Assert.Equal(RelocationState.Planning, estate.Manifest.ActiveRelocation.State);
        Assert.Equal(Enum.GetValues<EstateFile>().Length + 1, estate.InputDigests.Count); // every protocol file + the config
    }

    [Fact]
    public void ConfigCommentsEveryPathKeyAndEachIsAKeyTheConfigAccepts()
    {
        WriteAll();
        var config = File.ReadAllText(Path.Combine(_root, EstateScaffold.ConfigPath));
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            Assert.Contains($"#   {EstateScaffold.ConfigKey(file)}: {EstateLayout.DefaultPaths[file]}\n", config);
        }

        // Uncommented, every key is accepted (an unknown key would be an EstateConfigInvalid error) and changes nothing.
        var uncommented = config.Replace("# paths:", "paths:", StringComparison.Ordinal);
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            var key = EstateScaffold.ConfigKey(file);
            uncommented = uncommented.Replace($"#   {key}:", $"  {key}:", StringComparison.Ordinal);
        }
        File.WriteAllText(Path.Combine(_root, EstateScaffold.ConfigPath), uncommented);
        var layout = EstateLayoutLoader.Load(_root);
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            Assert.Equal(EstateLayout.DefaultPaths[file], layout.RelativePath(file));
        }
        Assert.Empty(TestEstate.Load(_root).ValidationFindings.Select(f => f.ToString()));
    }

    [Fact]
    public void ExistingFilesAreKeptByteForByte()
    {
        var manifest = Path.Combine(_root, EstateLayout.DefaultPaths[EstateFile.Manifest]);
        Directory.CreateDirectory(Path.GetDirectoryName(manifest)!);
        File.WriteAllText(manifest, "# mine\nversion: 1\n");

        var plan = EstateScaffold.Plan(_root, "CHG-TEST-1", "@tester");
        Assert.True(plan.Single(i => i.RelativePath == EstateLayout.DefaultPaths[EstateFile.Manifest]).Exists);
        Assert.Single(plan, i => i.Exists);
        var ex = Assert.Throws<RelocationException>(() =>
            EstateScaffold.Write(_root, plan.Single(i => i.Exists)));
        Assert.Equal("EstateFileExists", ex.ErrorId);
        Assert.Equal("# mine\nversion: 1\n", File.ReadAllText(manifest));
    }

    [Fact]
    public void ChangeIdAndOwnerAreQuoted()
    {
        var plan = EstateScaffold.Plan(_root, "CHG: \"x\"", "@a#b");
        var manifest = plan.Single(i => i.RelativePath == EstateLayout.DefaultPaths[EstateFile.Manifest]);
        foreach (var item in plan) EstateScaffold.Write(_root, item);

        Assert.Contains("change_id: \"CHG: \\\"x\\\"\"", manifest.Content);
        Assert.Equal("CHG: \"x\"", TestEstate.Load(_root).Manifest!.ActiveRelocation!.ChangeId);
        Assert.Equal("@a#b", TestEstate.Load(_root).Manifest!.ActiveRelocation!.Owner);
    }
}

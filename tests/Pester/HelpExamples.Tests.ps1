# Every help example runs as written: each code block of docs/en-US/<Verb-Noun>.md runs on its own copy of the
# sample estate (current location = the copy's root), and must finish without an error.
#
# - The examples run in one child pwsh inside a network namespace of its own (`unshare --net`): nothing an
#   example does can reach a host, so an example that needs one fails here instead of touching the network.
# - An example that needs more than a copy of the sample estate says so in its remarks, in a paragraph that
#   starts with "Needs:" (hosts over SSH, the Proxmox API, evidence of a preflight, ...). The user reads the same
#   sentence; the test skips the example and shows the sentence as the reason.
# - '/srv/infra', the estate root the examples use for a repository checked out on a server, stands for the copy.
# - The module is found by name (PSModulePath lists the built module), as it is for a user who installed it.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    Import-Module (Join-Path $RepoRoot 'tools' 'HelpMarkdown.psm1') -Force
    $examples = @(Get-HelpExample (Join-Path $RepoRoot 'docs' 'en-US'))
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    Import-Module (Join-Path $RepoRoot 'tools' 'HelpMarkdown.psm1') -Force
    # A network namespace of its own needs unshare and root (CI runs as root; the machine tests need it too).
    $canIsolate = $IsLinux -and [bool](Get-Command unshare -ErrorAction Ignore) -and ((& id -u) -eq '0')

    # Runs the given examples in one child pwsh with no network; returns one result per example, keyed by
    # "<page>:<line>": @{ Ok; Error; Output }.
    function Invoke-HelpExample([hashtable[]] $Examples) {
        $work = Join-Path ([IO.Path]::GetTempPath()) "ir-help-examples-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory $work | Out-Null
        $casesFile = Join-Path $work 'cases.json'
        $resultsFile = Join-Path $work 'results.json'
        $Examples | ForEach-Object { [ordered]@{ Key = "$($_.Page):$($_.Line)"; Code = $_.Code } } |
            ConvertTo-Json -AsArray -Depth 3 | Set-Content -LiteralPath $casesFile
        $runner = {
            param($CasesFile, $ResultsFile, $Work, $EstateFixture, $ModulesFolder)
            . $EstateFixture
            $env:PSModulePath = $ModulesFolder + [IO.Path]::PathSeparator + $env:PSModulePath
            $env:NO_COLOR = '1'
            $results = [ordered]@{}
            foreach ($case in (Get-Content -Raw -LiteralPath $CasesFile | ConvertFrom-Json)) {
                $root = New-TestEstate -Parent $Work
                $code = $case.Code.Replace('/srv/infra', $root)
                $environment = [Environment]::GetEnvironmentVariable('INFRA_RELOCATION_ROOT')
                $shell = [powershell]::Create()
                try {
                    $null = $shell.AddScript(@"
`$ErrorActionPreference = 'Stop'
`$ConfirmPreference = 'None'
Import-Module InfraRelocation
Set-Location -LiteralPath '$($root -replace "'", "''")'
& { $code
} *>&1 | Out-String -Width 120
"@)
                    $output = ($shell.Invoke() | Out-String).Trim()
                    $errors = @($shell.Streams.Error | ForEach-Object { "$_" })
                    $results[$case.Key] = @{ Ok = ($errors.Count -eq 0); Error = ($errors -join "`n"); Output = $output }
                } catch {
                    $results[$case.Key] = @{ Ok = $false; Error = ($_.Exception.InnerException ?? $_.Exception).Message; Output = '' }
                } finally {
                    $shell.Dispose()
                    [Environment]::SetEnvironmentVariable('INFRA_RELOCATION_ROOT', $environment)
                }
            }
            $results | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath $ResultsFile
        }
        $script = Join-Path $work 'runner.ps1'
        Set-Content -LiteralPath $script $runner.ToString()
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $modules = Split-Path (Split-Path (Split-Path $BuiltManifest))
        & unshare --net -- $exe @prefix -NoProfile -NonInteractive -File $script -CasesFile $casesFile -ResultsFile $resultsFile `
            -Work $work -EstateFixture (Join-Path $PSScriptRoot 'EstateFixture.ps1') -ModulesFolder $modules 2>&1 | Out-Null
        $results = @{}
        if (Test-Path $resultsFile) {
            foreach ($property in (Get-Content -Raw $resultsFile | ConvertFrom-Json).PSObject.Properties) { $results[$property.Name] = $property.Value }
        }
        Remove-Item $work -Recurse -Force -ErrorAction Ignore
        $results
    }
}

Describe 'Help examples' -Tag 'Help' {
    BeforeAll {
        $runnable = @(Get-HelpExample (Join-Path $RepoRoot 'docs' 'en-US') | Where-Object { -not $_.Needs })
        $script:results = if ($canIsolate -and $runnable) { Invoke-HelpExample $runnable } else { @{} }
    }

    It 'finds examples, and most run on the sample estate alone' {
        $all = @(Get-HelpExample (Join-Path $RepoRoot 'docs' 'en-US'))
        $all.Count | Should -BeGreaterThan 30
        $runnable.Count | Should -BeGreaterThan ($all.Count - $runnable.Count)
    }

    It '<Page>:<Line> <Title>' -ForEach $examples {
        $reason = if ($Needs) { $Needs } elseif (-not $canIsolate) { 'Needs: unshare --net (root on Linux), to run the examples without a network.' }
        if ($reason) { Set-ItResult -Skipped -Because $reason; return }
        $result = $script:results["${Page}:$Line"]
        $result | Should -Not -BeNullOrEmpty -Because 'the runner records every example it ran'
        $result.Error | Should -BeNullOrEmpty -Because "docs/en-US/${Page}:$Line runs as written:`n$Code"
        $result.Ok | Should -BeTrue
    }
}

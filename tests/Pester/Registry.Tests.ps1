# Issue 16.4: the service registry follows the status, always. A status move that must update the registry used to
# return Succeeded and write only the manifest when the registry was missing, not a mapping (`services: 42`), a symlink
# to another file, or moved to the default location by a broken config. Each is now refused through the real cmdlet,
# with a located error, and no estate file is written (a refusal leaves at most its Blocked receipt in the ledger).

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:Registry = 'ops/governance/SERVICE_REGISTRY.yaml'

    # Every file of the estate (dot-folders included, the ledger left out) with its SHA-256; links are listed as links.
    function Get-Tree([string] $Root) {
        $h = [ordered]@{}
        Get-ChildItem $Root -Recurse -Force | Where-Object { $_.FullName -notmatch '[\\/]receipts([\\/]|$)' } | Sort-Object FullName | ForEach-Object {
            $h[$_.FullName] = if ($_.LinkTarget) { "-> $($_.LinkTarget)" } elseif ($_.PSIsContainer) { 'dir' } else { (Get-FileHash -LiteralPath $_.FullName).Hash }
        }
        $h | ConvertTo-Json -Compress
    }
}

Describe 'A status move the registry cannot follow is refused, nothing written' {
    It '<Name>' -ForEach @(
        @{ Name = 'the registry is missing'; ErrorId = 'TransitionBlocked'; Located = '^ops/bindings/infra.relocation.plan.yaml:\d+:\d+: '
           Rule = 'TRANSITION.RegistryMissing'; Arrange = { Remove-Item (Join-Path $root $Registry) } }
        @{ Name = 'its services are not a mapping (services: 42)'; ErrorId = 'TransitionBlocked'; Located = '^ops/governance/SERVICE_REGISTRY.yaml:1:1: '
           Rule = 'TRANSITION.RegistryEntryMissing'; Arrange = { [IO.File]::WriteAllText((Join-Path $root $Registry), "version: 1`nservices: 42`n") } }
        @{ Name = 'it is a symbolic link to another file of the estate'; ErrorId = 'TransitionBlocked'; Located = '^ops/bindings/infra.relocation.plan.yaml:\d+:\d+: '
           Rule = 'TRANSITION.RegistryIsSymlink'; Arrange = {
                $real = Join-Path $root 'ops/governance/SERVICE_REGISTRY.real.yaml'
                Move-Item (Join-Path $root $Registry) $real
                New-Item -ItemType SymbolicLink -Path (Join-Path $root $Registry) -Target $real | Out-Null } }
        @{ Name = 'a broken config (a misspelled paths: key) would move it to the default location'; ErrorId = 'EstateConfigInvalid'
           Located = '^ops/infra-relocation.yaml:7:3: '; Rule = "Unknown key 'paths.service_registy'"; Arrange = {
                # a stale copy at the default location: the one the move would have written before
                New-Item -ItemType Directory -Force (Join-Path $root 'docs/governance') | Out-Null
                Copy-Item (Join-Path $root $Registry) (Join-Path $root 'docs/governance/SERVICE_REGISTRY.yaml')
                $config = Join-Path $root 'ops/infra-relocation.yaml'
                [IO.File]::WriteAllText($config, [IO.File]::ReadAllText($config).Replace('  service_registry:', '  service_registy:')) } }
    ) {
        $root = New-TestEstate -Name registry
        . $Arrange
        $before = Get-Tree $root

        $err = { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "$ErrorId,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $err.ErrorDetails.Message | Should -Match $Located
        $err.Exception.Message | Should -Match ([regex]::Escape($Rule))

        Get-Tree $root | Should -BeExactly $before -Because 'neither the manifest nor any registry is written'
        Test-Path (Join-Path $root '.infra-relocation/journal/*.json') | Should -BeFalse
        foreach ($line in Get-Content (Join-Path $root 'receipts/ledger.jsonl') -ErrorAction Ignore) {
            ($line | ConvertFrom-Json).receipt.Outcome | Should -Be 'Blocked' -Because 'a refusal records at most its Blocked receipt, never a change'
        }
    }
}

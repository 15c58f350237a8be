"""The CIFAR ResNet-18: torchvision's resnet18 layout with a 3x3 stride-1 stem, no max-pool, 10 outputs.

``width`` scales every stage (w, 2w, 4w, 8w channels); at ``width=64`` the module names, shapes and
state-dict keys are those of ``torchvision.models.resnet18`` after its conv1/fc are replaced, so
torchvision's ImageNet weights load into every layer but conv1 and fc (which stay freshly initialised,
as in the original).
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights
from torchvision.models.resnet import BasicBlock


class WeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but cannot be obtained here."""


class CifarResNet18(nn.Module):
    def __init__(self, width: int = 64, num_classes: int = 10):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self._inplanes = w
        self.layer1 = self._make_layer(w, stride=1)
        self.layer2 = self._make_layer(2 * w, stride=2)
        self.layer3 = self._make_layer(4 * w, stride=2)
        self.layer4 = self._make_layer(8 * w, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w, num_classes)
        # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or self._inplanes != planes:
            down = nn.Sequential(nn.Conv2d(self._inplanes, planes, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self._inplanes, planes, stride, down), BasicBlock(planes, planes)]
        self._inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_model(width: int = 64, pretrained: bool = False, num_classes: int = 10,
                conv1_init: str = "default", weights_file: str = "") -> CifarResNet18:
    """A fresh CIFAR ResNet-18 (uses the global torch RNG: seed before calling).

    ``conv1_init='default'`` (the original code): the 3x3 stem keeps ``nn.Conv2d``'s own initialisation
    (kaiming-uniform with a = sqrt(5), i.e. U(-b, b) with b = 1/sqrt(fan_in), std = 1/sqrt(3 fan_in)), drawn
    after the rest of the network, because the original replaces torchvision's conv1 after torchvision has
    initialised its layers. ``'kaiming'``: torchvision's kaiming-normal (fan_out) like every other conv,
    std = sqrt(2 / (9 w)), about half of the default's at width 64. ``pretrained``: every layer but conv1 and fc
    from torchvision's ImageNet weights (``imagenet_state_dict``), as the original adapts them; with
    ``weights_file``, from that file's ResNet-18 state dict, which may be of any width whose shapes match
    (the sparsity study's stand-ins, ``studies.standin``), adapted the same way."""
    if conv1_init not in ("default", "kaiming"):
        raise ValueError(f"conv1_init must be 'default' or 'kaiming', not {conv1_init!r}")
    net = CifarResNet18(width, num_classes)
    if conv1_init == "default":
        net.conv1.reset_parameters()
    if pretrained:
        if width != 64 and not weights_file:
            raise WeightsUnavailable("ImageNet weights exist only for width=64")
        adapt(net, imagenet_state_dict(weights_file), weights_file)
    return net


def adapt(net: CifarResNet18, state: dict, source: str = "") -> None:
    """Load a ResNet-18 ``state`` into ``net`` as the original adapts ImageNet weights: every weight and every
    BatchNorm running statistic but ``conv1`` and ``fc``, which keep ``net``'s fresh initialisation.
    WeightsUnavailable (one line) where a shape differs from ``net``'s (another width)."""
    kept = {k: v for k, v in state.items() if not k.startswith(("conv1.", "fc."))}
    own = net.state_dict()
    wrong = [k for k, v in kept.items() if k in own and own[k].shape != v.shape]
    if wrong:
        raise WeightsUnavailable(f"bad parameter weights_file={source!r}: its {wrong[0]} has shape "
                                 f"{tuple(kept[wrong[0]].shape)}, the width-{own['bn1.weight'].shape[0]} network's is "
                                 f"{tuple(own[wrong[0]].shape)} (a state dict of another width)")
    missing, unexpected = net.load_state_dict(kept, strict=False)
    assert set(missing) <= {"conv1.weight", "fc.weight", "fc.bias"} and not unexpected


WEIGHTS_NAME = ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
"""The file torchvision keeps the weights in (``resnet18-f37072fd.pth``)."""


def imagenet_state_dict(weights_file: str = "") -> dict:
    """torchvision's IMAGENET1K_V1 resnet18 weights: from ``weights_file`` when given, else through torchvision's
    own mechanism (torch's hub cache, TORCH_HOME/hub/checkpoints, downloaded where online). WeightsUnavailable, one
    line saying where to put the file or how to run from scratch, when they cannot be had."""
    how = (f"put {WEIGHTS_NAME} into torch's hub cache (TORCH_HOME/hub/checkpoints) or name it with "
           f"--set weights_file=PATH, or run from scratch with --set pretrained=false")
    if weights_file:
        try:
            state = torch.load(weights_file, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as e:
            raise WeightsUnavailable(f"bad parameter weights_file={weights_file!r}: cannot read it "
                                     f"({type(e).__name__}); {how}") from None
        if not isinstance(state, dict) or "layer1.0.conv1.weight" not in state:
            raise WeightsUnavailable(f"bad parameter weights_file={weights_file!r}: not a torchvision resnet18 "
                                     f"state dict; {how}")
        return state
    try:
        return ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=False)
    except Exception as e:
        raise WeightsUnavailable(f"ImageNet ResNet-18 weights could not be obtained ({type(e).__name__}); {how}") \
            from None


def require_weights(pretrained: bool, weights_file: str = "") -> None:
    """Stop before any work (WeightsUnavailable, one line) where ImageNet weights are asked for and cannot be had."""
    if pretrained:
        imagenet_state_dict(weights_file)


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
